"""citeqa beside the LangChain tutorial stack (bench/peer_app.py), measured in one run.

Both are served by gunicorn with 2 workers (citeqa by `citeqa serve`'s gevent workers with
rate limits off, the peer by 4 threads per worker) and asked questions about the shipped page
over real HTTP, 1 and 8 clients, taking turns; both are started cold over an existing index;
both index the same SciFact abstracts and are scored by nDCG@10 (the peer ranks documents by
their best chunk). Run with `make bench-peer`; writes bench/results/peer.json and the peer
table of docs/performance.md. The machine's load average is recorded beside each figure, since
these cores are shared.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.core import RESULTS, Run, latencies, peak_rss_mb, serving, timed_requests, timed_server
from bench.doc_tables import replace_section
from bench.metrics import mean, ndcg_at_k, unique_in_order
from bench.peer_app import build, vector_store
from bench.scifact import evaluate_retrieval
from evaldata.scifact import judged_first, load_scifact
from index import loaders
from index.build import index_corpus, index_documents
from index.documents import Document
from index.store import StoreConfig
from service.core.retrieval import Retriever

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = int(os.environ.get("CITEQA_BENCH_REQUESTS", "400"))  # per stack, turn and clients
# turns each stack takes per client count; an even number goes first as often as second
ROUNDS = max(1, int(os.environ.get("CITEQA_BENCH_ROUNDS", "4")))
STARTS = int(os.environ.get("CITEQA_BENCH_STARTS", "3"))
# 0: the whole corpus (5,183 abstracts); fewer index faster but score higher (judged first).
SCIFACT_DOCS = int(os.environ.get("CITEQA_BENCH_SCIFACT_DOCS", "0")) or None
SLICE = 50  # abstracts each stack indexes in its turn
PEER_DEPTH = 100  # chunks the peer retrieves to rank documents by their best chunk
TARGETS = {"rps_8": 2.0, "p95_8": 0.6, "p50_1": 0.6, "cold_start_s": 2.0, "worker_mb": 250.0,
           "index_docs_per_s": 1.5, "ndcg@10": 0.716}


def load() -> float:
    """Return the 1-minute load average (2.0 means both cores were busy)."""
    return round(os.getloadavg()[0], 2)


Server = Callable[[int], Any]


def peer_server(data_dir: Path, workers: int) -> Any:
    """Run the peer app under gunicorn with 4 threads per worker, as the tutorial would."""
    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
                str(workers), "--threads", "4", "--timeout", "60", "bench.peer_app:create_app()"]

    return timed_server(command, {"PEER_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)})


def citeqa_server(data_dir: Path, workers: int) -> Any:
    """Run `citeqa serve` over the shipped-corpus index, rate limits off."""
    return serving(StoreConfig(data_dir, "benchpeer"), workers)


def cold_starts(server: Server) -> dict[str, Any]:
    """Start one stack cold (1 worker) a few times; return the median and every start."""
    starts = []
    for _ in range(STARTS):
        with server(1) as (_, _, seconds):
            starts.append(seconds)
    return {"cold_start_s": round(statistics.median(starts), 2),
            "cold_starts_s": [round(s, 2) for s in starts]}


def serving_figures(servers: dict[str, Server]) -> dict[str, dict[str, Any]]:
    """Measure each stack's cold start, then latency and memory with 2 workers each.

    Both stacks serve at once and take turns, `ROUNDS` times per client count (the order
    flips each round), so the shared machine's changing load falls on both alike; each
    stack's requests of a client count are pooled into one p50, p95 and requests/s.
    """
    figures = {name: cold_starts(server) for name, server in servers.items()}
    with ExitStack() as stack:
        bases = {name: stack.enter_context(server(2)) for name, server in servers.items()}
        for base, _, _ in bases.values():
            latencies(base, 4, 40)  # warm every worker and thread
        before = load()
        pooled = {(name, clients): Run() for name in bases for clients in (1, 8)}
        for turn in range(ROUNDS):
            order = list(bases) if turn % 2 == 0 else list(reversed(bases))
            for clients in (1, 8):
                for name in order:
                    pooled[(name, clients)].add(timed_requests(bases[name][0], clients,
                                                               REQUESTS))
        after = load()
        for name, (_, proc, _) in bases.items():
            figures[name].update({"latency_1_client": pooled[(name, 1)].summary(),
                                  "latency_8_clients": pooled[(name, 8)].summary(),
                                  "peak_rss": peak_rss_mb(proc), "load_average": [before, after]})
    return figures


def peer_ranking(store: Any, claim: str) -> list[str]:
    """Return documents in the order of their best chunk, as the peer would rank them."""
    hits = store.similarity_search(claim, k=PEER_DEPTH)
    return unique_in_order(str(h.metadata["doc_id"]) for h in hits)


def scifact_figures(workdir: Path) -> dict[str, Any]:
    """Index the same abstracts with both stacks, slice by slice in turn; score both rankings.

    Taking turns spreads the shared machine's changing load over both stacks alike.
    """
    data = load_scifact()
    docs = judged_first(data, SCIFACT_DOCS)
    began_load = load()
    cfg = StoreConfig(workdir / "citeqa-scifact", "benchpeer")
    store = vector_store(str(workdir / "peer-scifact"), "peer")
    ours_seconds = peer_seconds = 0.0
    ours_chunks = peer_chunks = 0
    for i in range(0, len(docs), SLICE):
        part = docs[i:i + SLICE]
        report = index_documents(part, cfg, keep=lambda _: True, progress=False)
        ours_seconds, ours_chunks = ours_seconds + report.seconds, ours_chunks + report.chunks
        began = time.perf_counter()
        peer_chunks += build(part, store)
        peer_seconds += time.perf_counter() - began
    retriever = Retriever.open(cfg)
    hybrid = evaluate_retrieval(retriever, data.claims, retriever.fusion)
    peer_ndcg = mean(ndcg_at_k(peer_ranking(store, c.text), c.relevant, 10) for c in data.claims)
    return {
        "documents": len(docs),
        "citeqa": {"chunks": ours_chunks, "seconds": round(ours_seconds, 1),
                   "docs_per_s": round(len(docs) / ours_seconds, 2),
                   "ndcg@10": hybrid["ndcg@10"]},
        "peer": {"chunks": peer_chunks, "seconds": round(peer_seconds, 1),
                 "docs_per_s": round(len(docs) / peer_seconds, 2),
                 "ndcg@10": round(peer_ndcg, 4)},
        "load_average": [began_load, load()],
    }


def shipped(workdir: Path) -> tuple[Path, Path]:
    """Index the shipped corpus for both stacks; return their data folders."""
    ours, theirs = workdir / "citeqa", workdir / "peer"
    index_corpus(ROOT / "corpus", StoreConfig(ours, "benchpeer"), progress=False)
    documents: list[Document] = list(loaders.load_corpus(ROOT / "corpus"))
    build(documents, vector_store(str(theirs), "peer"))
    return ours, theirs


def ratios(res: dict[str, Any]) -> dict[str, float]:
    """Return citeqa's figures as ratios to the peer's (and the absolute ones)."""
    ours, peer, sci = res["citeqa"], res["peer"], res["scifact"]
    return {
        "rps_8": round(ours["latency_8_clients"]["rps"] / peer["latency_8_clients"]["rps"], 2),
        "p95_8": round(ours["latency_8_clients"]["p95_ms"] / peer["latency_8_clients"]["p95_ms"],
                       2),
        "p50_1": round(ours["latency_1_client"]["p50_ms"] / peer["latency_1_client"]["p50_ms"],
                       2),
        "cold_start_s": ours["cold_start_s"],
        "worker_mb": ours["peak_rss"]["worker_mb"],
        "index_docs_per_s": round(sci["citeqa"]["docs_per_s"] / sci["peer"]["docs_per_s"], 2),
        "ndcg@10": sci["citeqa"]["ndcg@10"],
    }


def table(res: dict[str, Any]) -> str:
    """Return the performance page's peer table: each figure, its ratio to the peer, the target."""
    ours, peer, sci, r = res["citeqa"], res["peer"], res["scifact"], res["ratios"]
    o1, p1 = ours["latency_1_client"], peer["latency_1_client"]
    o8, p8 = ours["latency_8_clients"], peer["latency_8_clients"]
    met = {k: (r[k] >= TARGETS[k]) if k in ("rps_8", "index_docs_per_s", "ndcg@10")
           else (r[k] <= TARGETS[k]) for k in TARGETS}
    rows = [
        ("8 clients, requests/s", f"{o8['rps']}", f"{p8['rps']}", f"{r['rps_8']}×", "≥ 2×",
         met["rps_8"]),
        ("8 clients, p95", f"{o8['p95_ms']} ms", f"{p8['p95_ms']} ms", f"{r['p95_8']}×",
         "≤ 0.6×", met["p95_8"]),
        ("1 client, p50", f"{o1['p50_ms']} ms", f"{p1['p50_ms']} ms", f"{r['p50_1']}×", "≤ 0.6×",
         met["p50_1"]),
        ("cold start to `/readyz`", f"{ours['cold_start_s']} s", f"{peer['cold_start_s']} s",
         "—", "≤ 2 s", met["cold_start_s"]),
        ("peak RSS, one worker", f"{ours['peak_rss']['worker_mb']} MB",
         f"{peer['peak_rss']['worker_mb']} MB", "—", "≤ 250 MB", met["worker_mb"]),
        (f"SciFact index build, {sci['documents']} abstracts",
         f"{sci['citeqa']['docs_per_s']} docs/s", f"{sci['peer']['docs_per_s']} docs/s",
         f"{r['index_docs_per_s']}×", "≥ 1.5×", met["index_docs_per_s"]),
        ("SciFact nDCG@10", f"{sci['citeqa']['ndcg@10']}", f"{sci['peer']['ndcg@10']}", "—",
         "≥ 0.716", met["ndcg@10"]),
    ]
    lines = ["| measure | citeqa | peer | ratio | target | met |", "|---|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} | {e} | {'yes' if ok else 'no'} |"
              for a, b, c, d, e, ok in rows]
    return "\n".join(lines)


def main() -> int:
    """Measure both stacks and write the results and the docs table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {"measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                           "cores": os.cpu_count(), "requests_per_run": REQUESTS,
                           "rounds": ROUNDS, "gunicorn": {
                               "citeqa": "citeqa serve's defaults: gevent workers, each "
                                         "connection closed after its response",
                               "peer": "gthread workers, 4 threads, keep-alive 2 s (gunicorn's "
                                       "default)"}}
    with tempfile.TemporaryDirectory(prefix="citeqa-peer-") as tmp:
        ours, theirs = shipped(Path(tmp))
        res.update(serving_figures({
            "citeqa": lambda workers: citeqa_server(ours, workers),
            "peer": lambda workers: peer_server(theirs, workers)}))
        res["scifact"] = scifact_figures(Path(tmp))
    res["ratios"] = ratios(res)
    (RESULTS / "peer.json").write_text(json.dumps(res, indent=2) + "\n")
    loads = res["citeqa"]["load_average"] + res["peer"]["load_average"]
    body = (table(res) + f"\n\nMeasured {res['measured_at']} on {res['cores']} shared cores "
            f"(`make bench-peer`; the two stacks took {ROUNDS} turns of {REQUESTS} requests "
            f"per client count, pooled per stack; 1-minute load average "
            f"{min(loads)}–{max(loads)} during the HTTP runs).")
    replace_section("peer", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
