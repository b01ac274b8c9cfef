"""Soak: `citeqa serve` (2 gevent workers) at about half its measured capacity for a while,
with an incremental `citeqa index` at intervals and one `citeqa index --rebuild`, over the
embedded store and over a `chroma run` server. Counts failed requests and worker memory growth
and writes bench/results/soak.json.

    python -m bench.soak            # SOAK_SECONDS=1800 (the target), SOAK_INDEX_EVERY=300
    SOAK_PARALLEL=1 python -m bench.soak   # both store modes at once, sharing the machine

A run shorter than three index intervals indexes every third of its length instead.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from tests.support.servers import BIN, ChromaServer, free_port, stop, wait_until

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECONDS = float(os.environ.get("SOAK_SECONDS", "1800"))
INDEX_EVERY = float(os.environ.get("SOAK_INDEX_EVERY", "300"))
PARALLEL = os.environ.get("SOAK_PARALLEL", "") == "1"
CAPACITY_SECONDS = 20.0
CLIENTS = 8
QUESTIONS = ("Until when was Operation IMPACT extended?",
             "How much will Canada allocate towards its military efforts?",
             "What will Canada cease?", "Who signed the memorandum with Jordan?")


@dataclass
class Mode:
    """One store mode's soak figures."""

    store: str
    seconds: float
    capacity_rps: float
    target_rps: float
    requests: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    index_runs: int = 0
    rebuilds: int = 0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_growth: float = 0.0
    machine_load: float = 0.0


def one_request(base: str, n: int) -> tuple[bool, float, str]:
    """Send the n-th request of the mix (answer, search, documents) on a fresh connection."""
    kind = n % 4
    began = time.perf_counter()
    try:
        if kind == 3:
            resp = requests.get(f"{base}/api/v1/documents", timeout=30)
        elif kind == 2:
            resp = requests.post(f"{base}/api/v1/search", timeout=30,
                                 json={"query": QUESTIONS[n % len(QUESTIONS)]})
        else:
            resp = requests.post(f"{base}/api/v1/answer", timeout=30,
                                 json={"question": QUESTIONS[n % len(QUESTIONS)]})
        ok, why = resp.status_code == 200, f"{resp.status_code} {resp.text[:120]}"
    except requests.RequestException as exc:
        ok, why = False, exc.__class__.__name__
    return ok, time.perf_counter() - began, why


def capacity(base: str) -> float:
    """Return the requests/s that CLIENTS closed-loop clients get through."""
    stop_at = time.monotonic() + CAPACITY_SECONDS
    done = [0]
    lock = threading.Lock()

    def client(seed: int) -> None:
        n = seed
        while time.monotonic() < stop_at:
            one_request(base, n)
            n += CLIENTS
            with lock:
                done[0] += 1

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    return done[0] / CAPACITY_SECONDS


def workers_rss(master: int) -> float:
    """Return the summed resident memory (MB) of the gunicorn master's worker processes."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                status = (stat.parent / "status").read_text()
                total += int(next(line.split()[1] for line in status.splitlines()
                                  if line.startswith("VmRSS:")))
        except (OSError, ValueError, StopIteration):
            continue
    return total / 1024


def soak(mode: Mode, base: str, master: int, reindex: Callable[[bool], None]) -> None:
    """Send paced requests for mode.seconds while re-indexing; fill in mode's figures."""
    every = min(INDEX_EVERY, mode.seconds / 3)
    mode.rss_start_mb = workers_rss(master)
    latencies: list[float] = []
    results_lock = threading.Lock()

    def fire(n: int) -> None:
        ok, seconds, why = one_request(base, n)
        with results_lock:
            mode.requests += 1
            latencies.append(seconds)
            if not ok:
                mode.failed += 1
                mode.failures.append(why)

    def index_loop() -> None:
        began = time.monotonic()
        runs = 0
        while time.monotonic() - began < mode.seconds - 5:
            time.sleep(max(0.0, began + every * (runs + 1) - time.monotonic()))
            if time.monotonic() - began >= mode.seconds - 5:
                break
            runs += 1
            rebuild = runs == 2  # the second run is the one --rebuild
            reindex(rebuild)
            mode.rebuilds += rebuild
            mode.index_runs += not rebuild

    indexer = threading.Thread(target=index_loop, daemon=True)
    indexer.start()
    began = time.monotonic()
    with ThreadPoolExecutor(4 * CLIENTS) as pool:
        n = 0
        while time.monotonic() - began < mode.seconds:
            time.sleep(max(0.0, began + n / mode.target_rps - time.monotonic()))
            pool.submit(fire, n)
            n += 1
    indexer.join(timeout=600)
    mode.rss_end_mb = workers_rss(master)
    mode.rss_growth = round(mode.rss_end_mb / mode.rss_start_mb - 1, 4) if mode.rss_start_mb else 0
    ordered = sorted(latencies)
    mode.p50_ms = round(statistics.median(ordered) * 1000, 1) if ordered else 0.0
    mode.p95_ms = round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1) if ordered else 0.0
    mode.failures = mode.failures[:10]
    mode.machine_load = os.getloadavg()[0]


def run_mode(store: str, work: Path) -> Mode:
    """Soak one store mode: build its index, serve it, measure, soak."""
    corpus = work / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CITEQA_DATA_DIR": str(work / "data"),
           "CITEQA_CORPUS_DIR": str(corpus), "CITEQA_RATE_LIMIT": "", "CITEQA_RATE_LIMIT_IP": "",
           "CITEQA_INDEX_CHECK_SECONDS": "1",
           # the master's children are then its web workers only, whose memory is measured
           "CITEQA_INGEST_WORKER": "false"}
    chroma = ChromaServer(work / "chroma") if store == "chroma-server" else None
    if chroma is not None:
        chroma.start()
        env["CITEQA_CHROMA_URL"] = chroma.url
    subprocess.run([str(BIN / "citeqa"), "index"], env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([str(BIN / "citeqa"), "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    edits = [0]

    def reindex(rebuild: bool) -> None:
        edits[0] += 1
        (corpus / "soak-note.md").write_text(f"# Soak note\n\nRevision {edits[0]} of the soak "
                                             f"note lists {edits[0] * 3} checks.\n")
        subprocess.run([str(BIN / "citeqa"), "index", *(["--rebuild"] if rebuild else [])],
                       env=env, check=True, capture_output=True, timeout=600)

    try:
        wait_until(lambda: requests.get(f"{base}/readyz", timeout=5).ok, "citeqa serve", 300,
                   proc)
        for n in range(8):
            one_request(base, n)  # warm both workers
        measured = capacity(base)
        mode = Mode(store, SECONDS, round(measured, 2), round(max(measured / 2, 0.2), 2))
        soak(mode, base, proc.pid, reindex)
        return mode
    finally:
        stop(proc)
        if chroma is not None and chroma.proc is not None:
            stop(chroma.proc)


def soak_store(store: str) -> Mode:
    """Soak one store mode in a folder of its own."""
    with tempfile.TemporaryDirectory(prefix=f"citeqa-soak-{store}-") as tmp:
        mode = run_mode(store, Path(tmp))
    print(json.dumps(asdict(mode)), flush=True)
    return mode


def main() -> None:
    """Soak both store modes (one after the other, or at once) and write the results."""
    stores = ("embedded", "chroma-server")
    if PARALLEL:  # each mode then measures, and runs at half of, what it gets of the machine
        with ThreadPoolExecutor(len(stores)) as pool:
            modes = list(pool.map(soak_store, stores))
    else:
        modes = [soak_store(store) for store in stores]
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = {"seconds_per_mode": SECONDS, "parallel": PARALLEL,
               "index_every": min(INDEX_EVERY, SECONDS / 3),
               "zero_failures": all(m.failed == 0 for m in modes),
               "rss_growth_under_10pct": all(m.rss_growth < 0.10 for m in modes),
               "modes": [asdict(m) for m in modes]}
    (RESULTS / "soak.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
