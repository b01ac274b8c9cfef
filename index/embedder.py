"""Embed texts with the exported all-MiniLM-L6-v2 on ONNX Runtime, pooled as its own config says.

The model folder is the export `index.model_cache` makes from the packaged weights: the graph,
`tokenizer.json`, and the sentence-transformers configuration (`modules.json`, the pooling
module's `config.json`, `sentence_bert_config.json`) that says how token vectors become one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.onnx_model import OnnxModel

# One text per run: int8 activations are quantized per run, so in a batch a text's vector
# would depend on its neighbours (cosine down to 0.985 between batchings). Alone, an indexed
# text gets exactly its query vector. SciFact indexes in 229-241 s against 224 s in fours.
BATCH_SIZE = 1
POOLING_TYPE = "sentence_transformers.models.Pooling"
NORMALIZE_TYPE = "sentence_transformers.models.Normalize"


@dataclass(frozen=True)
class Pooling:
    """How token vectors become one sentence vector: the pooling mode, then L2 or not."""

    mode: str
    normalize: bool

    @classmethod
    def read(cls, folder: Path) -> Pooling:
        """Read the pooling mode and normalisation from the model's `modules.json`."""
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        pooling = next(m for m in modules if m["type"] == POOLING_TYPE)
        config = json.loads((folder / pooling["path"] / "config.json").read_text("utf-8"))
        modes = [k.removeprefix("pooling_mode_") for k, on in config.items()
                 if k.startswith("pooling_mode_") and on]
        if modes not in (["mean_tokens"], ["cls_token"]):
            raise ValueError(f"unsupported pooling {modes} in {folder}")
        return cls(modes[0], any(m["type"] == NORMALIZE_TYPE for m in modules))

    def __call__(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Pool `(batch, tokens, dim)` vectors under the attention mask, as float32."""
        if self.mode == "cls_token":
            pooled = tokens[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if self.normalize:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)


class Embedder:
    """Turn texts into sentence vectors; safe to share between threads."""

    def __init__(self, model: OnnxModel, pooling: Pooling) -> None:
        """Wrap a loaded model and its pooling."""
        self.model = model
        self.pooling = pooling

    @classmethod
    def load(cls, folder: Path, model_file: str, threads: int = 1) -> Embedder:
        """Load one graph (fp32 or int8) of the exported model in `folder`, truncating as
        sentence-transformers does."""
        config = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
        model = OnnxModel.load(folder, threads, max_length=int(config["max_seq_length"]),
                               model_file=model_file)
        return cls(model, Pooling.read(folder))

    def embed(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Return one vector per text, in order; similar lengths share a batch (less padding)."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.zeros((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            tokens, batch = self.model.run([texts[i] for i in rows])
            pooled = self.pooling(tokens, batch.mask)
            if not vectors.shape[1]:
                vectors = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            vectors[rows] = pooled
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        """Return the vector of one query."""
        vector: np.ndarray = self.embed([text])[0]
        return vector
