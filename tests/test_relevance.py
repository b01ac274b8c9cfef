"""The shipped relevance model: it loads without torch and scores as it did when trained."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from service.core.relevance import MODEL_DIR, RelevanceModel, shipped
from tests.support.paths import ROOT, TEST_DATA
from training import data, train

# int8 weights against the float CrossEncoder that wrote the reference probabilities: dynamic
# quantization moves the shipped model's probabilities by up to 0.075 on these pairs
TOLERANCE = 0.1


def reproduces_reference(model: RelevanceModel) -> None:
    """Assert the model gives the probabilities recorded at training time."""
    reference = model.settings["reference"]
    got = model.probabilities([(r["first"], r["second"]) for r in reference])
    expected = np.array([r["probabilities"] for r in reference])
    assert np.abs(got - expected).max() < TOLERANCE, (got, expected)


def test_shipped_weights_score_known_pairs_as_the_trained_cross_encoder() -> None:
    reproduces_reference(shipped())


def test_a_pair_is_judged_the_same_whatever_is_judged_with_it() -> None:
    """int8 quantizes activations per run, so each pair must run alone."""
    pair = ("When was the treaty signed?", "The treaty was signed in Paris on 3 September 1783.")
    others = [("Who painted the ceiling?", "The chapel's roof was repaired in 1990. " * 8),
              ("x", "y")]
    alone = shipped().probabilities([pair])[0]
    assert np.array_equal(shipped().probabilities([pair, *others])[0], alone)
    assert np.array_equal(shipped().probabilities([others[0], pair])[1], alone)


def test_make_train_defaults_are_the_shipped_models_settings() -> None:
    """`make train` reproduces the shipped weights only if its defaults are what they were."""
    card = (MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    recorded = json.loads(card.split("## Settings\n```json\n", 1)[1].split("```", 1)[0])
    defaults = {k: v for k, v in vars(train.parser().parse_args([])).items()
                if k not in ("out", "data", "threads")}
    assert {k: defaults[k] for k in recorded} == recorded
    # options added after the shipped training default to what it did without them
    added = {k: v for k, v in defaults.items() if k not in recorded}
    assert added.items() <= {"reversals": 0, "bf16": False, "squad_dev_paragraphs": 0,
                             "breaking": 0, "counterfactual": 0, "negation": 0,
                             "fever": 0, "mnli": 0, "selqa": 0}.items()


def test_the_loss_is_cross_entropy_and_a_binary_pair_lowers_only_support() -> None:
    import torch

    logits = torch.tensor([[0.2, 1.5, -0.3], [0.0, 0.0, 0.0]], requires_grad=True)
    labels = torch.tensor([data.SUPPORTS, data.NOT_SUPPORTED])
    loss = train.Loss()(logits, labels)
    three = torch.nn.functional.cross_entropy(logits[:1], labels[:1])
    assert torch.isclose(loss, (three - torch.log(torch.tensor(2 / 3))) / 2)
    loss.backward()
    assert logits.grad is not None
    contradiction, support, neutral = logits.grad[1].tolist()
    assert support > 0 > contradiction and contradiction == neutral


def test_shipped_model_is_one_small_file() -> None:
    assert (MODEL_DIR / "model.onnx").stat().st_size < 30_000_000
    assert (MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8").count("CC BY") >= 2


@pytest.mark.xfail(strict=True, reason="the shipped model (one CPU epoch) calls a claim that "
                   "rewords its sentence neutral; see MODEL_CARD.md")
def test_model_tells_an_answer_from_a_contradiction_and_from_nothing() -> None:
    sentence = "The bridge over the Calder was opened to traffic in 1936."
    answer, claim, wrong, unrelated = shipped().judge([
        ("When was the bridge opened?", sentence),
        ("Cars could cross the bridge from 1936.", sentence),
        ("The bridge has never been opened to traffic.", sentence),
        ("Who painted the town hall?", sentence),
    ])
    assert answer.supports > unrelated.supports
    assert claim.supports > max(claim.contradicts, claim.neutral)
    assert wrong.contradicts > wrong.supports
    assert unrelated.supports < 0.5


def test_serving_imports_no_torch() -> None:
    code = ("import sys; from service.core.relevance import shipped; "
            "shipped().judge([('a', 'b')]); "
            "bad = {'torch', 'transformers', 'sentence_transformers'} & set(sys.modules); "
            "print(*sorted(bad)); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.training
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("precision", [[], ["--bf16"]], ids=["fp32", "bf16"])
def test_smoke_training_writes_a_model_that_round_trips(tmp_path: Path,
                                                         precision: list[str]) -> None:
    out = tmp_path / "relevance"
    done = subprocess.run([sys.executable, "-m", "training.train", "--smoke", "--out", str(out),
                           "--data", str(TEST_DATA),
                           *precision], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p.name for p in out.iterdir()} == {"model.onnx", "settings.json", "MODEL_CARD.md"}
    assert f'"bf16": {"true" if precision else "false"}' in (out / "MODEL_CARD.md").read_text()
    reproduces_reference(RelevanceModel(out))
