"""Indexes loading in background threads while other threads load indexes or build apps."""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from index import lexical
from index.store import StoreConfig, client
from service.web.app import create_app


class Cycle:
    """Garbage with a finaliser: collecting it runs Python code, where threads switch."""

    def __init__(self) -> None:
        """Refer to itself, so only the cycle collector frees it."""
        self.me: Cycle | None = self

    def __del__(self) -> None:
        """Run bytecode during a collection."""
        self.me = None


@pytest.fixture()
def switching_often() -> Iterator[None]:
    """Collect and switch threads far more often than a server does, to meet rare interleavings."""
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(5)
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)


def test_loads_and_app_builds_in_parallel_threads_never_fail(default_index: StoreConfig,
                                                              switching_often: None) -> None:
    """numpy reads each saved array's header with `ast`, as werkzeug compiles routes with it."""
    folder = lexical.current(default_index, client(default_index)).folder
    errors: list[BaseException] = []
    stop = threading.Event()

    def load_repeatedly() -> None:
        while not stop.is_set():
            try:
                for _ in range(20):
                    Cycle()
                lexical.LexicalIndex(folder)
            except Exception as error:
                errors.append(error)

    loaders = [threading.Thread(target=load_repeatedly) for _ in range(3)]
    for thread in loaders:
        thread.start()
    deadline = time.monotonic() + 4
    built = 0
    try:
        while time.monotonic() < deadline and not errors:
            create_app({"data_dir": default_index.data_dir,
                        "collection": default_index.collection}, load_sync=True)
            built += 1
    except Exception as error:
        errors.append(error)
    finally:
        stop.set()
        for thread in loaders:
            thread.join()
    assert not errors, errors[:3]
    assert built
