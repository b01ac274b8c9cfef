"""The store's boundary: a store that hangs or cannot be reached raises one domain error."""

from __future__ import annotations

import threading

import httpx
import pytest

from index.store import StoreUnavailable, within
from tests.support.servers import free_port


def test_a_call_over_its_deadline_raises_store_unavailable() -> None:
    release = threading.Event()
    try:
        with pytest.raises(StoreUnavailable, match=r"did not answer in 0\.2 s"):
            within(0.2, lambda: release.wait(30))
    finally:
        release.set()


@pytest.mark.parametrize("seconds", [None, 5.0])
def test_a_refused_connection_raises_store_unavailable(seconds: float | None) -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/v2/heartbeat"
    with pytest.raises(StoreUnavailable, match="unreachable") as raised:
        within(seconds, lambda: httpx.get(closed, timeout=5))
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


def test_an_answer_in_time_is_returned_and_other_errors_pass_through() -> None:
    assert within(5.0, lambda: 42) == 42
    with pytest.raises(KeyError):
        within(5.0, lambda: {}["missing"])
