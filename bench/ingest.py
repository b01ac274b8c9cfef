"""`make bench-ingest`: ingestion while answers are served, then `kill -9` of the ingest worker.

    python -m bench.ingest     # INGEST_BURST=800 uploads, INGEST_KILLS=20 kills

`citeqa serve` (two gevent web workers and its ingest worker) serves the shipped corpus. Answer
latency is measured at rest, then during each scenario: a 9.99 MB text upload, a small PDF
holding 30 MB of text, a burst of uploads, and the import of a site whose robots.txt asks for
an hour between requests. Each job must end (ready, or failed with a reason) with no gunicorn
worker timeout. Last, the ingest worker is killed at random moments while documents are
indexed; every document must end ready, whole and once. Writes bench/results/ingest.json.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from bench.ingest_data import Site, dense_pdf, long_text
from bench.soak import QUESTIONS
from tests.support.servers import citeqa_server, serving_in_thread

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BURST = int(os.environ.get("INGEST_BURST", "800"))
KILLS = int(os.environ.get("INGEST_KILLS", "20"))
ADMIN = {"Authorization": "Bearer bench-admin"}
ANSWERS_PER_SECOND = 4.0
REST_SECONDS = 30.0
MIN_SECONDS = 20.0  # measure answers at least this long in each scenario
JOB_SECONDS = 1800.0


@dataclass
class Scenario:
    """One ingestion scenario's outcome and the answer latency during it."""

    name: str
    jobs: int = 0
    ready: int = 0
    failed: int = 0
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0
    answers: int = 0
    answer_errors: int = 0
    p95_ms: float = 0.0
    p95_vs_rest: float = 0.0


def p95(latencies: list[float]) -> float:
    """Return the 95th percentile in milliseconds."""
    ordered = sorted(latencies)
    return round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1) if ordered else 0.0


@contextmanager
def answering(base: str, into: list[float], errors: list[str]) -> Iterator[None]:
    """Ask questions at a steady pace until the block ends, recording latencies."""
    done = threading.Event()

    def ask(n: int) -> None:
        began = time.perf_counter()
        try:
            resp = requests.post(f"{base}/api/v1/answer", timeout=30,
                                 json={"question": QUESTIONS[n % len(QUESTIONS)]})
            if resp.status_code != 200:
                errors.append(f"{resp.status_code}")
        except requests.RequestException as exc:
            errors.append(exc.__class__.__name__)
        into.append(time.perf_counter() - began)

    def pace() -> None:
        with ThreadPoolExecutor(8) as pool:
            n, began = 0, time.monotonic()
            while not done.is_set():
                time.sleep(max(0.0, began + n / ANSWERS_PER_SECOND - time.monotonic()))
                pool.submit(ask, n)
                n += 1

    thread = threading.Thread(target=pace, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def statuses(base: str, collection: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Return the status of each job (one request per job not yet listed as ended)."""
    listed = requests.get(f"{base}/api/v1/collections/{collection}/documents", headers=ADMIN,
                          timeout=60).json()["documents"]
    found = {d["id"]: d for d in listed}
    for doc_id in ids:
        if doc_id not in found and len(ids) <= 20:
            found[doc_id] = requests.get(f"{base}/api/v1/collections/{collection}/documents/"
                                         f"{quote(doc_id, safe='')}", headers=ADMIN,
                                         timeout=60).json()
    return found


def wait_ended(base: str, collection: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Wait until every job is ready or failed (or JOB_SECONDS pass); return their statuses."""
    deadline = time.monotonic() + JOB_SECONDS
    while True:
        found = statuses(base, collection, ids)
        if all(found.get(i, {}).get("status") in ("ready", "failed") for i in ids) or \
                time.monotonic() > deadline:
            return found
        time.sleep(1)


def run(base: str, rest_p95: float, name: str, submit: Callable[[str], list[str]]) -> Scenario:
    """Run one scenario in a collection of its own while answers are served."""
    collection = name.lower().replace(" ", "-")[:40]
    requests.post(f"{base}/api/v1/collections", json={"name": collection}, headers=ADMIN,
                  timeout=60).raise_for_status()
    latencies: list[float] = []
    errors: list[str] = []
    began = time.monotonic()
    with answering(base, latencies, errors):
        ids = submit(collection)
        found = wait_ended(base, collection, ids)
        time.sleep(max(0.0, began + MIN_SECONDS - time.monotonic()))
    outcome = Scenario(name, len(ids), seconds=round(time.monotonic() - began, 1))
    for doc_id in ids:
        state = found.get(doc_id, {})
        outcome.ready += state.get("status") == "ready"
        if state.get("status") == "failed":
            outcome.failed += 1
            outcome.reasons = sorted({*outcome.reasons, str(state.get("reason"))[:160]})
    outcome.answers, outcome.answer_errors = len(latencies), len(errors)
    outcome.p95_ms = p95(latencies)
    outcome.p95_vs_rest = round(outcome.p95_ms / rest_p95, 2) if rest_p95 else 0.0
    print(json.dumps(asdict(outcome)), flush=True)
    return outcome


def send_file(base: str, collection: str, name: str, body: bytes) -> str:
    """Upload one file; return its job id."""
    resp = requests.post(f"{base}/api/v1/collections/{collection}/documents", headers=ADMIN,
                         files={"file": (name, body)}, timeout=120)
    resp.raise_for_status()
    return str(resp.json()["id"])


def send_texts(base: str, collection: str, texts: list[str]) -> list[str]:
    """Upload texts from 8 clients at once; return their job ids in order."""
    def one(text: str) -> str:
        resp = requests.post(f"{base}/api/v1/collections/{collection}/documents",
                             headers=ADMIN, json={"text": text, "title": text[:40]}, timeout=120)
        resp.raise_for_status()
        return str(resp.json()["id"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, texts))


def scenarios(base: str, site: Site) -> dict[str, Callable[[str], list[str]]]:
    """Return each scenario's submission."""
    def import_site(collection: str) -> list[str]:
        resp = requests.post(f"{base}/api/v1/collections/{collection}/import", headers=ADMIN,
                             json={"url": site.base + "/"}, timeout=60)
        resp.raise_for_status()
        return [str(resp.json()["id"])]

    return {
        "10 MB text": lambda c: [send_file(base, c, "big.txt",
                                           long_text(9_990_000).encode()[:9_990_000])],
        "30 MB-of-text PDF": lambda c: [send_file(base, c, "dense.pdf",
                                                  dense_pdf(300, 100_000))],
        f"{BURST} uploads": lambda c: send_texts(
            base, c, [f"Boat {i} moors at berth {i % 97} on day {i % 365}." for i in range(BURST)]),
        "Crawl-delay site": import_site,
    }


def worker_pids(data_dir: Path) -> list[int]:
    """Return the ingest worker processes serving `data_dir`."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[-3:-1] == [b"service.cli", b"worker"] and \
                f"CITEQA_DATA_DIR={data_dir}".encode() in env:
            found.append(int(proc.name))
    return found


def stored_once(data_dir: Path, collection: str, ids: list[str]) -> bool:
    """Tell whether each document's record counts exactly the chunks stored for it."""
    from index import collections, store, switch

    base = store.StoreConfig(data_dir, "citeqa")
    api = store.client(base)
    serving = switch.active(api, collections.store_config(base, collection).collection)
    records = store.docs_collection(api, serving.collection).get(ids=ids,
                                                                 include=["metadatas"])
    chunks = store.chunks_collection(api, serving.collection).get(
        where=store.where_doc_in(ids), include=["metadatas"])
    counted: dict[str, int] = {}
    for meta in chunks["metadatas"] or []:
        counted[str(meta["doc_id"])] = counted.get(str(meta["doc_id"]), 0) + 1
    expected = {i: int(str((m or {}).get("chunks", -1)))
                for i, m in zip(records["ids"], records["metadatas"] or [], strict=False)}
    return expected == counted and set(expected) == set(ids)


def kill_loop(base: str, data_dir: Path) -> dict[str, Any]:
    """Kill the ingest worker KILLS times while documents are indexed; check every one."""
    requests.post(f"{base}/api/v1/collections", json={"name": "killed"}, headers=ADMIN,
                  timeout=60).raise_for_status()
    texts = [f"# Mooring log {i}\n\n" + long_text(20_000) for i in range(3 * KILLS)]
    ids = send_texts(base, "killed", texts)
    rng, kills = random.Random(23), 0
    while kills < KILLS:
        time.sleep(rng.uniform(0.5, 3.0))
        for pid in worker_pids(data_dir):
            os.kill(pid, 9)
            kills += 1
    found = wait_ended(base, "killed", ids)
    whole = sum(requests.get(f"{base}/api/v1/collections/killed/documents/{i}", headers=ADMIN,
                             timeout=60).json().get("text") == text
                for i, text in zip(ids, texts, strict=True))
    listed = [d["id"] for d in requests.get(f"{base}/api/v1/collections/killed/documents",
                                            headers=ADMIN, timeout=60).json()["documents"]]
    outcome = {"documents": len(ids), "kills": kills,
               "ready": sum(found.get(i, {}).get("status") == "ready" for i in ids),
               "whole": whole, "listed_once": len(listed) == len(set(listed)) == len(ids),
               "chunks_once": stored_once(data_dir, "killed", ids)}
    print(json.dumps(outcome), flush=True)
    return outcome


def main() -> None:
    """Serve, measure at rest, run each scenario, then the kill loop; write the results."""
    import subprocess

    from tests.support.servers import BIN

    with tempfile.TemporaryDirectory(prefix="citeqa-bench-ingest-") as tmp:
        data = Path(tmp) / "data"
        env = {"CITEQA_DATA_DIR": str(data), "CITEQA_CORPUS_DIR": str(ROOT / "corpus"),
               "CITEQA_ADMIN_KEYS": "bench-admin", "CITEQA_RATE_LIMIT": "",
               "CITEQA_RATE_LIMIT_IP": "", "CITEQA_IMPORT_ALLOW": "127.0.0.0/8",
               "CITEQA_INDEX_CHECK_SECONDS": "1"}
        subprocess.run([str(BIN / "citeqa"), "index"], env={**os.environ, **env}, check=True,
                       capture_output=True)
        log_path = Path(tmp) / "serve.log"
        site = Site("User-agent: *\nCrawl-delay: 3600\n")
        with log_path.open("wb") as log, serving_in_thread(site.server), \
                citeqa_server(env, workers=2, log=log) as base:
            rest: list[float] = []
            with answering(base, rest, []):
                time.sleep(REST_SECONDS)
            rest_p95 = p95(rest)
            print(json.dumps({"at_rest_p95_ms": rest_p95}), flush=True)
            results = [run(base, rest_p95, name, submit)
                       for name, submit in scenarios(base, site).items()]
            killed = kill_loop(base, data)
        timeouts = log_path.read_text(errors="replace").count("WORKER TIMEOUT")
    report = {"machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end",
              "answers_per_second": ANSWERS_PER_SECOND, "at_rest_p95_ms": rest_p95,
              "median_at_rest_ms": round(statistics.median(rest) * 1000, 1) if rest else 0.0,
              "scenarios": [asdict(r) for r in results], "kill_loop": killed,
              "web_worker_timeouts": timeouts}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
