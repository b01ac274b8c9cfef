"""Export a trained CrossEncoder to one int8 ONNX file plus its settings."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import torch

from training.data import LABELS

MODEL_FILE = "model.onnx"
SETTINGS_FILE = "settings.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class _Logits(torch.nn.Module):
    """Return only the logits of a sequence classifier (ONNX wants plain tensors)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        """Return the logits for a batch of token ids."""
        out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids)
        logits: torch.Tensor = out.logits
        return logits


def write_onnx(cross_encoder: Any, out: Path, max_length: int,
               reference: list[dict[str, Any]]) -> int:
    """Write `model.onnx` (int8 weights) and `settings.json` to `out`; return the model's size.

    `reference` holds pairs with the probabilities the trained CrossEncoder gave them.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = cross_encoder.model.eval()
    sample = cross_encoder.tokenizer(["a question"], ["a sentence"], return_tensors="pt")
    args = tuple(sample[name] for name in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "fp32.onnx"
        torch.onnx.export(_Logits(model), args, str(full), input_names=list(INPUTS),
                          output_names=["logits"], dynamic_axes={**axes, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
        quantize_dynamic(str(full), str(out / MODEL_FILE), weight_type=QuantType.QInt8)
    settings = {"labels": list(LABELS), "max_length": max_length,
                "tokenizer": "the packaged all-MiniLM-L6-v2 tokenizer.json",
                "reference": reference}
    (out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return (out / MODEL_FILE).stat().st_size
