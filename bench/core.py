"""Core benchmarks: answer latency over real HTTP, cold start, index throughput, peak RSS.

Run with `make bench-core`; writes bench/results/core.json and prints a Markdown table.
Each figure sits beside a baseline measured in the same run, since these machines are noisy.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.doc_tables import replace_section
from evaldata.scifact import scifact_documents
from index import model_export
from index.build import index_corpus, index_documents, index_threads
from index.chunking import chunk_document
from index.embedder import Embedder
from index.store import StoreConfig
from tests.support.servers import free_port, stop, wait_until

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
QUESTIONS = (
    "Until when did Canada extend Operation IMPACT?",
    "How much will Canada allocate towards its military efforts?",
    "When did Canada sign a memorandum of understanding with Jordan?",
    "What will Canada cease?",
    "What contributions is Canada making under its new approach?",
    "How much humanitarian aid did Canada give to Lebanon?",
    "What is Canada focusing on?",
    "Who is the Prime Minister of Canada?",
)
REQUESTS = int(os.environ.get("CITEQA_BENCH_REQUESTS", "200"))
RUNTIME_SAMPLE = 512  # chunks encoded by both runtimes
SCIFACT_DOCS = int(os.environ.get("CITEQA_BENCH_SCIFACT_DOCS", "0")) or None


@contextmanager
def timed_server(command: Callable[[int], list[str]],
                 env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes], float]]:
    """Run `command(port)`; yield its URL, process and seconds from start to `/readyz` 200."""
    port = free_port()
    began = time.perf_counter()
    proc = subprocess.Popen(command(port), env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/readyz", timeout=1).status_code == 200,
                   command(port)[0], 300, proc)
        yield base, proc, time.perf_counter() - began
    finally:
        stop(proc)


def serving(cfg: StoreConfig, workers: int) -> ContextManager[tuple[str, subprocess.Popen[bytes],
                                                                    float]]:
    """Run `citeqa serve` over an index, rate limits off; yield its URL, process and seconds."""
    cli = str(Path(sys.executable).with_name("citeqa"))
    return timed_server(lambda port: [cli, "serve", "--port", str(port), "--workers",
                                      str(workers)],
                        {"CITEQA_DATA_DIR": str(cfg.data_dir), "CITEQA_COLLECTION": cfg.collection,
                         "CITEQA_RATE_LIMIT": "", "CITEQA_RATE_LIMIT_IP": "",
                         # the web tier alone: the master's children are its web workers
                         "CITEQA_INGEST_WORKER": "false"})


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class Run:
    """Latencies of answer requests (ms) and the wall-clock seconds they took together."""

    ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: Run) -> None:
        """Pool another run's requests into this one."""
        self.ms += other.ms
        self.seconds += other.seconds

    def summary(self) -> dict[str, float]:
        """Return the request count, p50/p95 in ms and requests per second."""
        return {"requests": len(self.ms), "p50_ms": round(percentile(self.ms, 50), 1),
                "p95_ms": round(percentile(self.ms, 95), 1),
                "rps": round(len(self.ms) / self.seconds, 1)}


def timed_requests(base: str, clients: int, total: int) -> Run:
    """Send `total` answer requests from `clients` threads; return their latencies."""

    def worker(n: int) -> list[float]:
        session, out = requests.Session(), []
        for i in range(n):
            question = QUESTIONS[i % len(QUESTIONS)]
            began = time.perf_counter()
            resp = session.post(f"{base}/api/v1/answer", json={"question": question}, timeout=60)
            out.append((time.perf_counter() - began) * 1000)
            resp.raise_for_status()
        return out

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        runs = list(pool.map(worker, [total // clients] * clients))
    return Run([ms for run in runs for ms in run], time.perf_counter() - began)


def latencies(base: str, clients: int, total: int) -> dict[str, float]:
    """Send `total` answer requests from `clients` threads; return p50/p95 in ms and req/s."""
    return timed_requests(base, clients, total).summary()


def peak_rss_mb(proc: subprocess.Popen[bytes]) -> dict[str, float]:
    """Return the peak resident memory of the server's master and largest worker, in MB."""
    def hwm(pid: int) -> float:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    workers = [hwm(int(c)) for c in children]
    return {"master_mb": round(hwm(proc.pid), 1), "worker_mb": round(max(workers, default=0), 1),
            "total_mb": round(hwm(proc.pid) + sum(workers), 1)}


def floor_seconds(data_dir: Path) -> float:
    """Time a bare process that only imports the model runtime and embeds one query."""
    code = ("from pathlib import Path; from index import model_export; "
            f"model_export.embedder(model_export.model_dir(Path({str(data_dir)!r})))"
            ".embed_query('x')")
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def serving_figures(workdir: Path) -> dict[str, Any]:
    """Measure latency, cold start and memory of the service on the default corpus."""
    cfg = StoreConfig(workdir / "default", "benchcore")
    index_corpus(ROOT / "corpus", cfg, progress=False)
    starts, floors = [], []
    for _ in range(3):
        floors.append(floor_seconds(cfg.data_dir))
        with serving(cfg, workers=1) as (_, _, seconds):
            starts.append(seconds)
    with serving(cfg, workers=2) as (base, proc, _):
        latencies(base, 4, 40)  # warm every worker and thread
        one = latencies(base, 1, REQUESTS)
        eight = latencies(base, 8, REQUESTS)
        memory = peak_rss_mb(proc)
    cold, floor = statistics.median(starts), statistics.median(floors)
    return {"latency_1_client": one, "latency_8_clients": eight,
            "cold_start_s": round(cold, 2), "model_load_floor_s": round(floor, 2),
            "cold_start_over_floor": round(cold / floor, 2), "peak_rss": memory}


def throughput_figures(workdir: Path) -> dict[str, Any]:
    """Index SciFact and compare with raw encoding of the same chunks in the same run."""
    docs = list(scifact_documents(limit=SCIFACT_DOCS))
    texts = [d.text[c.start:c.end] for d in docs for c in chunk_document(d)]
    cfg = StoreConfig(workdir / "scifact", "benchscifact")
    model = model_export.embedder(model_export.ensure(cfg.data_dir), index_threads())
    model.embed(texts[:64])  # warm up
    began = time.perf_counter()
    model.embed(texts)
    raw = len(texts) / (time.perf_counter() - began)
    report = index_documents(docs, cfg, progress=False)
    built = report.chunks / report.seconds
    return {"documents": len(docs), "chunks": report.chunks,
            "index_chunks_per_s": round(built, 1), "raw_encode_chunks_per_s": round(raw, 1),
            "ratio": round(built / raw, 3), "index_seconds": round(report.seconds, 1),
            "runtimes": runtime_figures(model, texts[:RUNTIME_SAMPLE])}


def runtime_figures(model: Embedder, texts: list[str]) -> dict[str, float]:
    """Encode the same chunks with ONNX Runtime and with sentence-transformers (torch).

    Both use every core (torch in batches of 64, ONNX Runtime one text per run, as the
    embedder does); the faster one is what indexing should use.
    """
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_export.source_path()), device="cpu")
    runs: dict[str, Callable[[], object]] = {
        "onnx": lambda: model.embed(texts),
        "torch": lambda: reference.encode(texts, batch_size=64, normalize_embeddings=True),
    }
    rates: dict[str, float] = {}
    for name, encode in runs.items():
        encode()  # warm up
        began = time.perf_counter()
        encode()
        rates[f"{name}_chunks_per_s"] = round(len(texts) / (time.perf_counter() - began), 1)
    rates["chunks"] = len(texts)
    return rates


def table(res: dict[str, Any]) -> str:
    """Return the benchmark table of docs/performance.md."""
    one, eight, rss = res["latency_1_client"], res["latency_8_clients"], res["peak_rss"]
    tp = res["index_throughput"]
    rt = tp["runtimes"]
    rows = [
        ("`/api/v1/answer` p50 / p95, 1 client", f"{one['p50_ms']} / {one['p95_ms']} ms",
         "p50 < 50 ms"),
        ("`/api/v1/answer` p50 / p95, 8 clients", f"{eight['p50_ms']} / {eight['p95_ms']} ms "
         f"({eight['rps']} req/s)", "p50 < 50 ms, p95 < 150 ms"),
        ("cold start to `/readyz` 200", f"{res['cold_start_s']} s ({res['cold_start_over_floor']}"
         f"× a bare model load, {res['model_load_floor_s']} s)", "< 5 s"),
        ("index build on SciFact vs raw `encode`", f"{tp['ratio']} ({tp['index_chunks_per_s']} vs "
         f"{tp['raw_encode_chunks_per_s']} chunks/s, {tp['chunks']} chunks)", "≥ 0.9"),
        ("encoding runtime: ONNX Runtime vs torch", f"{rt['onnx_chunks_per_s']} vs "
         f"{rt['torch_chunks_per_s']} chunks/s ({rt['chunks']} chunks)", "the faster indexes"),
        ("peak RSS, one worker / whole server", f"{rss['worker_mb']} / {rss['total_mb']} MB", "—"),
    ]
    lines = ["| measure | today | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main() -> int:
    """Run every core benchmark and write the results."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="citeqa-bench-") as tmp:
        res = serving_figures(Path(tmp))
        res["index_throughput"] = throughput_figures(Path(tmp))
    res["cores"] = os.cpu_count()
    res["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (RESULTS / "core.json").write_text(json.dumps(res, indent=2) + "\n")
    body = (table(res) + f"\n\nMeasured {res['measured_at']} on {res['cores']} cores "
            "(`make bench-core`).")
    replace_section("core", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
