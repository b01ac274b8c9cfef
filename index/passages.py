"""Each chunk's text and metadata, saved with the lexical index and read by position from disk.

A serving process reads the passages a request returns from this file, not from the store:
in an embedded Chroma store the first read of a collection loads its whole vector index into
the reading process (305 MB at 150,000 chunks, in every worker: docs/scale.md). The file is
written once per index state, like the rest of its folder, so a passage read from it is the
one that was indexed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from index.slices import ArraySlices, FileSlices

TEXTS, OFFSETS = "passages.jsonl", "passage-offsets.npy"


def save(folder: Path, rows: Iterable[tuple[str, Mapping[str, object]]]) -> None:
    """Write `(text, metadata)` rows in position order, one JSON line each, with their offsets."""
    offsets = [0]
    with (folder / TEXTS).open("wb") as handle:
        for text, meta in rows:
            line = json.dumps([text, dict(meta)], ensure_ascii=False).encode() + b"\n"
            handle.write(line)
            offsets.append(offsets[-1] + len(line))
    np.save(folder / OFFSETS, np.array(offsets, dtype=np.int64))


class Passages:
    """The saved rows of one folder, each read from disk when asked for (index/slices.py)."""

    def __init__(self, folder: Path) -> None:
        """Open the folder's passage file and its offsets (never empty: the first is 0)."""
        self.offsets = ArraySlices(np.load(folder / OFFSETS, mmap_mode="r"))
        self.texts = FileSlices(folder / TEXTS)

    def __getitem__(self, pos: int) -> tuple[str, dict[str, object]]:
        """Return the text and metadata of the chunk at a position."""
        begin, end = self.offsets.read(pos, pos + 2)
        text, meta = json.loads(self.texts.read(int(begin), int(end)))
        return str(text), dict(meta)
