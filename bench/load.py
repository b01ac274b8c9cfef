"""Load test: locust (a second process) against `citeqa serve` on loopback.

Runs gunicorn with 1 and 2 workers over the embedded store and over a `chroma run` server,
and writes requests/s, p50/p95/p99 latency and errors to bench/results/load.json and load.md.

    python -m bench.load            # LOAD_SECONDS=30 LOAD_USERS=8 by default
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

from bench.doc_tables import replace_section
from index.build import index_corpus
from index.store import StoreConfig
from tests.support.servers import BIN, ChromaServer, citeqa_server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECONDS = int(os.environ.get("LOAD_SECONDS", "30"))
USERS = int(os.environ.get("LOAD_USERS", "8"))


@dataclass
class Run:
    """One load run's figures."""

    topology: str
    workers: int
    users: int
    seconds: int
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    machine_load: float  # 1-minute load average at the end: other work on the machine skews runs


def locust(base: str, prefix: Path) -> dict[str, str]:
    """Run locust headless against `base`; return its aggregated CSV row."""
    subprocess.run([str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"),
                    "--headless", "-u", str(USERS), "-r", str(USERS), "-t", f"{SECONDS}s",
                    "--host", base, "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR"],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=SECONDS + 120)
    with open(f"{prefix}_stats.csv", newline="") as rows:
        return next(r for r in csv.DictReader(rows) if r["Name"] == "Aggregated")


def measure(topology: str, workers: int, env: dict[str, str], scratch: Path) -> Run:
    """Serve with `workers` workers, warm every worker up, then run the load."""
    with citeqa_server(env, workers=workers) as base:
        for _ in range(4 * workers):  # each worker loads its model and index before timing
            requests.post(f"{base}/api/v1/answer", json={"question": "warm up"}, timeout=120)
        row = locust(base, scratch / f"{topology}-{workers}")
    return Run(topology, workers, USERS, SECONDS, int(row["Request Count"]),
               int(row["Failure Count"]), round(float(row["Requests/s"]), 2),
               float(row["50%"]), float(row["95%"]), float(row["99%"]),
               round(os.getloadavg()[0], 1))


def table(runs: list[Run]) -> str:
    """Return the runs as a Markdown table."""
    lines = ["| topology | workers | users | requests/s | p50 ms | p95 ms | p99 ms | errors "
             "| machine load |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r.topology} | {r.workers} | {r.users} | {r.rps} | {r.p50_ms:.0f} | "
              f"{r.p95_ms:.0f} | {r.p99_ms:.0f} | {r.errors}/{r.requests} | {r.machine_load} |"
              for r in runs]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run every topology and worker count; write the results."""
    base_env = {"CITEQA_RATE_LIMIT": "", "CITEQA_RATE_LIMIT_IP": "", "OMP_NUM_THREADS": "1"}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        embedded = StoreConfig(scratch / "embedded", "citeqa")
        index_corpus(ROOT / "corpus", embedded, progress=False)
        with ChromaServer(scratch / "chroma") as chroma:
            index_corpus(ROOT / "corpus", StoreConfig(scratch, "citeqa", chroma.url),
                         progress=False)
            topologies = {
                "embedded": {"CITEQA_DATA_DIR": str(embedded.data_dir)},
                "chroma-server": {"CITEQA_CHROMA_URL": chroma.url,
                                  "CITEQA_DATA_DIR": str(scratch / "unused")},
            }
            for topology, env in topologies.items():
                for workers in (1, 2):
                    run = measure(topology, workers, {**base_env, **env}, scratch)
                    print(table([run]).splitlines()[-1], flush=True)
                    runs.append(run)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(
        {"cpus": os.cpu_count(), "runs": [asdict(r) for r in runs]}, indent=2) + "\n")
    (RESULTS / "load.md").write_text(table(runs))
    replace_section("load", table(runs))
    print(table(runs))
    return 0 if all(r.errors == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
