"""Ranges of saved files read by position, as the index reads postings and passages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.slices import ArraySlices, FileSlices


def test_array_ranges_equal_the_saved_array_and_stay_in_bounds(tmp_path: Path) -> None:
    """Any range reads the elements numpy saved; a range past either end is refused."""
    saved = np.arange(10_000, dtype=np.int64) * 3
    np.save(tmp_path / "a.npy", saved)
    slices = ArraySlices(np.load(tmp_path / "a.npy", mmap_mode="r"))
    assert slices.size == 10_000
    for begin, end in ((0, 0), (0, 1), (4_095, 4_097), (123, 9_876), (9_999, 10_000)):
        assert slices.read(begin, end).tolist() == saved[begin:end].tolist()
    for begin, end in ((-1, 2), (5, 4), (9_999, 10_001)):
        with pytest.raises(IndexError):
            slices.read(begin, end)


def test_byte_ranges_count_from_the_start_given(tmp_path: Path) -> None:
    """Offsets count from `start`; a range past the file's end is an error, not short bytes."""
    (tmp_path / "f").write_bytes(b"headerpayload")
    slices = FileSlices(tmp_path / "f", start=6)
    assert slices.read(0, 7) == b"payload" and slices.read(3, 5) == b"lo"
    with pytest.raises(EOFError):
        slices.read(5, 9)
