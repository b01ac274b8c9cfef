"""The exported ONNX model: vectors as sentence-transformers gives, no torch, a safe cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import model_export
from index.embedder import Embedder
from index.store import StoreConfig

TEXTS = [
    "Until when was the mission extended?",
    "How much humanitarian aid went to Lebanon?",
    "The kiln fires at 1,280 degrees.",
    "Pruning apple trees is best done in late winter, before the buds break.",
    "",
    " ".join(["Long passages are cut at the model's maximum length, as in training."] * 30),
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the model into a fresh data folder (from this machine's export cache)."""
    return model_export.ensure(tmp_path_factory.mktemp("data"))


def _vectors(folder: Path, model_file: str) -> np.ndarray:
    """Embed `TEXTS` with one graph, in batches and one by one."""
    embedder = Embedder.load(folder, model_file=model_file)
    batched = embedder.embed(TEXTS, batch_size=4)
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    return np.stack([batched, np.stack([embedder.embed_query(t) for t in TEXTS])])


@pytest.mark.slow
def test_vectors_match_sentence_transformers(exported: Path) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_export.source_path()), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    worst = float(np.abs(expected - _vectors(exported, model_export.FP32_FILE)).max())
    cosine = float((expected * _vectors(exported, model_export.INT8_FILE)).sum(axis=-1).min())
    print(f"fp32: max |ONNX - sentence-transformers| = {worst:.2e}; int8: min cosine {cosine:.4f}")
    assert worst <= model_export.TOLERANCE
    assert cosine >= model_export.MIN_COSINE
    manifest = model_export.read_manifest(exported)
    assert manifest is not None and manifest["check"]["max_abs_diff"] <= model_export.TOLERANCE
    assert manifest["check"]["int8_min_cosine"] >= model_export.MIN_COSINE
    assert model_export.served_file(manifest) == model_export.SERVED_FILE


def test_a_folder_serves_the_graph_it_was_installed_with(exported: Path, tmp_path: Path) -> None:
    other = model_export.ensure(tmp_path / "data", serve=model_export.FP32_FILE)
    query = "How long do the buds take to break?"
    fp32 = Embedder.load(exported, model_file=model_export.FP32_FILE).embed_query(query)
    assert np.array_equal(model_export.embedder(other).embed_query(query), fp32)
    # a folder installed with the default serves int8, whose vectors are not fp32's
    served = model_export.embedder(exported).embed_query(query)
    assert not np.array_equal(served, fp32)
    assert np.array_equal(served, Embedder.load(
        exported, model_file=model_export.SERVED_FILE).embed_query(query))


def test_a_text_gets_the_same_vector_whatever_is_embedded_with_it(exported: Path) -> None:
    served = model_export.embedder(exported)  # int8: its activations are quantized per run
    together = served.embed(TEXTS)
    assert np.array_equal(together, np.stack([served.embed_query(t) for t in TEXTS]))
    beside_others = served.embed([TEXTS[0], TEXTS[-1]])[0]
    assert np.array_equal(beside_others, served.embed([TEXTS[0], TEXTS[1]])[0])


def test_serving_process_loads_no_model_or_unused_library(default_index: StoreConfig) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from service.web.app import create_app\n"

        f"app = create_app({{'data_dir': Path({str(default_index.data_dir)!r}),"
        f" 'collection': {default_index.collection!r}}}, load_sync=True)\n"
        "engine = app.extensions['citeqa.engine']\n"
        "assert not engine.status, engine.status\n"
        "print(engine.answer('Until when was the mission extended?').answer)\n"
        "heavy = ('torch', 'transformers', 'sentence_transformers', 'langchain_chroma',"
        " 'langchain_huggingface', 'langchain_core',"
        # site crawling, user tokens and redis limits load only where used (~20 MB of RSS)
        " 'lxml', 'jwt', 'redis', 'cryptography')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    answer, loaded = done.stdout.strip().splitlines()[-2:]
    assert answer  # it really answered with the model loaded
    assert loaded == "[]", loaded


def test_half_written_model_is_not_used(exported: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    target = model_export.model_dir(data)
    shutil.copytree(exported, target)
    weights = target / (model_export.SERVED_FILE + model_export.DATA_SUFFIX)
    size = weights.stat().st_size
    weights.unlink()  # a crash mid-copy: the file is cut short
    weights.write_bytes(b"\0" * (size // 2))
    assert model_export.read_manifest(target) is None
    with pytest.raises(FileNotFoundError):
        model_export.embedder(target)
    assert model_export.ensure(data) == target  # replaced by a complete copy
    assert weights.stat().st_size == size
    assert model_export.embedder(target).embed_query("a question").shape == (384,)


def test_folder_without_manifest_is_not_used(exported: Path, tmp_path: Path) -> None:
    target = model_export.model_dir(tmp_path / "data")
    shutil.copytree(exported, target)
    (target / model_export.MANIFEST).unlink()  # the manifest is written last: not finished
    assert model_export.read_manifest(target) is None
    model_export.ensure(tmp_path / "data")
    manifest = json.loads((target / model_export.MANIFEST).read_text())
    served = model_export.SERVED_FILE
    assert set(manifest["files"]) >= {served, served + model_export.DATA_SUFFIX}


def test_cache_entry_with_wrong_content_is_refused(exported: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    entry = cache / f"{model_export.NAME}-{model_export.source_digest(model_export.source_path())}"
    shutil.copytree(exported, entry)
    tokenizer = entry / "tokenizer.json"
    tokenizer.write_bytes(tokenizer.read_bytes().replace(b"[UNK]", b"[XXX]"))  # same size
    monkeypatch.setenv("CITEQA_MODEL_CACHE", str(cache))
    with pytest.raises(RuntimeError, match="does not match"):
        model_export.ensure(tmp_path / "data")
    assert not model_export.model_dir(tmp_path / "data").exists()
    assert os.listdir(tmp_path / "data" / "models") == []  # no staging folder left behind
