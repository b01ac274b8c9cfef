"""Run an exported transformer with ONNX Runtime and its `tokenizers` tokenizer, no torch.

A model folder holds `model.onnx` and `tokenizer.json`. Any such model (a sentence embedder,
a cross-encoder) loads the same way:

    >>> model = OnnxModel.load(Path("data/models/all-minilm-l6-v2"), threads=1)  # doctest: +SKIP
    >>> outputs = model.run(["a question"])  # doctest: +SKIP
    >>> pairs = model.run([("a question", "a passage")])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"

TextInput = str | tuple[str, str]


def session_options(threads: int) -> ort.SessionOptions:
    """Return options for `threads` CPU threads that do not spin while idle (cores are shared)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


@dataclass(frozen=True)
class Batch:
    """Tokenized inputs as the graph takes them, and the attention mask kept for pooling."""

    feeds: dict[str, np.ndarray]
    mask: np.ndarray


class OnnxModel:
    """An ONNX Runtime session and the tokenizer that feeds it; safe to share between threads."""

    def __init__(self, session: ort.InferenceSession, tokenizer: Tokenizer) -> None:
        """Wrap a loaded session and tokenizer."""
        self.session = session
        self.tokenizer = tokenizer
        self.inputs = {i.name for i in session.get_inputs()}

    @classmethod
    def load(cls, folder: Path, threads: int = 1, max_length: int | None = None,
             model_file: str = MODEL_FILE, tokenizer_file: Path | None = None) -> OnnxModel:
        """Load `model_file` and `tokenizer.json` from `folder`; pad to the longest input only.

        `max_length` replaces the tokenizer's own truncation length when given; a model trained
        from another one's weights may name that one's `tokenizer_file` instead.
        """
        tokenizer = Tokenizer.from_file(str(tokenizer_file or folder / TOKENIZER_FILE))
        limit = max_length or (tokenizer.truncation or {}).get("max_length", 512)
        tokenizer.enable_truncation(max_length=int(limit))
        padding = tokenizer.padding or {}
        tokenizer.enable_padding(pad_id=int(padding.get("pad_id", 0)),
                                 pad_token=str(padding.get("pad_token", "[PAD]")))
        session = ort.InferenceSession(str(folder / model_file), session_options(threads),
                                       providers=["CPUExecutionProvider"])
        return cls(session, tokenizer)

    def tokenize(self, texts: Sequence[TextInput]) -> Batch:
        """Tokenize texts (or text pairs) into the arrays the graph declares."""
        encodings: list[Encoding] = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        arrays = {"input_ids": ids, "attention_mask": mask,
                  "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        return Batch({k: v for k, v in arrays.items() if k in self.inputs}, mask)

    def run(self, texts: Sequence[TextInput]) -> tuple[np.ndarray, Batch]:
        """Return the graph's first output for `texts`, and the batch that produced it."""
        batch = self.tokenize(texts)
        output = self.session.run(None, batch.feeds)[0]
        return np.asarray(output), batch
