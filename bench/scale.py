"""Serving at scale: synthetic corpora of SCALE_SIZES chunks (default 15k, 150k, 500k), each
served by `citeqa serve` with 2 workers. Writes bench/results/scale.json and the table and plot
in docs/scale.md: per-worker and whole-server memory, time to ready, reload after a one-document
incremental index, answer p50/p95 at 1 and 8 clients, and the index's size on disk.

The generator (`synthetic`) is seeded: documents of words drawn from a Zipf law over a made-up
vocabulary, chunked by the real chunker, each chunk stored with a random unit vector instead
of its embedding (embedding 500k chunks takes hours on 2 cores; a search costs the same over
any vectors). Each corpus's store is written once under build/scale/ and reused.

    python -m bench.scale                       # SCALE_SIZES=15000,150000,500000
    SCALE_SIZES=15000 python -m bench.scale     # one size
    SCALE_SIZES= python -m bench.scale          # only rewrite the docs from the results
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import requests

from bench.doc_tables import replace_section
from index import build, lexical, model_export, store, switch, vectors
from index.access import PUBLIC
from index.chunking import chunk_document
from index.documents import Chunk, Document
from tests.support.servers import BIN, ChromaServer, free_port, stop, wait_until

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs"
WORK = ROOT / "build" / "scale"
SIZES = [int(s) for s in os.environ.get("SCALE_SIZES", "15000,150000,500000").split(",") if s]
WORKERS = 2
VOCABULARY = 40_000
DIMENSIONS = 384
WRITE_BATCH = 2_000
QUESTIONS = 40


def vocabulary(rng: np.random.Generator) -> list[str]:
    """Return made-up words of 4 to 10 letters."""
    letters = np.array(list("abcdefghijklmnoprstuvwy"))
    return ["".join(rng.choice(letters, size=int(rng.integers(4, 11))))
            for _ in range(VOCABULARY)]


def sentence(rng: np.random.Generator, words: list[str]) -> str:
    """Return a sentence of 12 to 24 Zipf-drawn words."""
    picks = (rng.zipf(1.2, size=int(rng.integers(12, 25))) - 1) % len(words)
    return " ".join(words[i] for i in picks).capitalize() + "."


def synthetic(count: int, seed: int = 7) -> Iterator[tuple[Document, list[Chunk]]]:
    """Yield documents of five paragraphs and their chunks until `count` chunks are made."""
    rng = np.random.default_rng(seed)
    words = vocabulary(rng)
    made, n = 0, 0
    while made < count:
        paragraphs = ["\n\n".join(" ".join(sentence(rng, words) for _ in range(4))
                                  for _ in range(5))]
        text = f"# Report {n}\n\n" + paragraphs[0] + "\n"
        doc = Document(f"synthetic/{n:07d}.md", f"Report {n}", "", text, f"fp{n}")
        chunks = chunk_document(doc)
        made += len(chunks)
        n += 1
        yield doc, chunks


def write(cfg: store.StoreConfig, count: int) -> None:
    """Write a synthetic corpus into the store, vectors random; records last, as indexing does."""
    api = store.client(cfg)
    chunks = store.chunks_collection(api, cfg.collection)
    records = store.docs_collection(api, cfg.collection)
    rng = np.random.default_rng(11)
    pending: list[tuple[Document, Chunk]] = []
    docs: dict[str, Document] = {}
    counts: dict[str, int] = {}

    def flush() -> None:
        vectors = rng.standard_normal((len(pending), DIMENSIONS)).astype(np.float32)
        texts = [d.text[c.start:c.end] for d, c in pending]
        chunks.add(ids=[c.id for _, c in pending], embeddings=vectors, documents=texts,
                   metadatas=[build.chunk_metadata(d, c) for d, c in pending])
        build.record_documents(records, docs, counts)
        pending.clear()
        docs.clear()

    for doc, doc_chunks in synthetic(count):
        pending += [(doc, c) for c in doc_chunks]
        docs[doc.id], counts[doc.id] = doc, len(doc_chunks)
        if len(pending) >= WRITE_BATCH:
            flush()
    if pending:
        flush()


def questions(count: int) -> list[str]:
    """Return questions made of the corpus's own words."""
    rng = np.random.default_rng(3)
    words = vocabulary(np.random.default_rng(7))
    return [f"What does {' '.join(words[int(i)] for i in rng.integers(0, 3000, size=4))} do?"
            for _ in range(count)]


def memory(pid: int) -> dict[str, float]:
    """Return a process's resident, proportional and private memory (MB).

    Resident counts every page a process maps, the memory-mapped index files of the page cache
    included in full; proportional splits shared pages between the processes mapping them;
    private is what only this process holds.
    """
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    kb = {line.split(":")[0]: int(line.split()[1]) for line in rollup if line.endswith("kB")}
    return {"rss_mb": round(kb["Rss"] / 1024, 1), "pss_mb": round(kb["Pss"] / 1024, 1),
            "private_mb": round((kb["Private_Clean"] + kb["Private_Dirty"]) / 1024, 1)}


def children(pid: int) -> list[int]:
    """Return the ids of a process's children."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def latencies(base: str, asked: list[str], clients: int) -> dict[str, float]:
    """Ask every question once, from `clients` threads; return p50 and p95 in ms."""
    taken: list[float] = []
    lock = threading.Lock()
    queue = list(asked)

    def client() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    if not queue:
                        return
                    question = queue.pop()
                began = time.perf_counter()
                session.post(f"{base}/api/v1/answer", json={"question": question},
                             timeout=120).raise_for_status()
                with lock:
                    taken.append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(taken, n=20)
    return {"p50_ms": round(statistics.median(taken), 1), "p95_ms": round(cuts[18], 1)}


def documents(base: str) -> int:
    """Return the document count the answering worker serves."""
    return int(requests.get(f"{base}/readyz", timeout=10).json()["documents"])


def reload_seconds(base: str, cfg: store.StoreConfig, served: int) -> dict[str, object]:
    """Index one new document incrementally; time it, then time until every worker serves it."""
    doc = Document("synthetic/added.md", "Added", "", "# Added\n\nThe kiln fires at 1,280 "
                   "degrees and cools for two days.\n", f"added-{time.time_ns()}")
    began = time.perf_counter()
    switch.change([doc], cfg, keep=lambda _: True)
    indexed = time.perf_counter()
    streak = 0
    while streak < 3 * WORKERS:  # consecutive answers from the new state, whichever worker
        streak = streak + 1 if documents(base) == served + 1 else 0
        time.sleep(0.02)
    reloaded = time.perf_counter()
    first = latencies(base, questions(2 * WORKERS), WORKERS)
    return {"incremental_index_s": round(indexed - began, 2),
            "reload_s": round(reloaded - indexed, 2), "first_answers_after_reload": first}


def size_mb(path: Path) -> float:
    """Return the size of the files under a folder (MB)."""
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def dense_costs(cfg: store.StoreConfig, count: int) -> dict[str, float]:
    """Return the median ms of one search by meaning, question embedded beforehand, four ways.

    By the store (Chroma's HNSW), without a filter (a reader who may read every chunk) and
    with the public reader's filter (what a reader gets once some documents are restricted),
    and exactly over `count` vectors in memory, float32 and int8 (a mask applied),
    alternating, 30 questions.
    """
    api = store.client(cfg)
    chunks = store.chunks_collection(api, cfg.collection)
    embedder = model_export.embedder(model_export.installed(cfg.data_dir))
    asked = [embedder.embed_query(q) for q in questions(30)]
    random = np.random.default_rng(5).standard_normal((count, DIMENSIONS)).astype(np.float32)
    kept = {}
    saved = Path(tempfile.mkdtemp(dir=WORK))  # removed with its files once timed
    for way, full_up_to in (("exact", count), ("exact_int8", 0)):
        (saved / way).mkdir()
        vectors.save(saved / way, list(random), full_up_to)
        kept[way] = vectors.load(saved / way, mapped=False)
    mask = np.ones(count, dtype=bool)
    chunks.query(query_embeddings=[asked[0]], n_results=500)  # the store loads its index
    taken: dict[str, list[float]] = {way: [] for way in (*kept, "store", "store_filtered")}
    for vector in asked:
        for way, where in (("store", None), ("store_filtered", PUBLIC.where())):
            began = time.perf_counter()
            chunks.query(query_embeddings=[vector], n_results=500, include=["distances"],
                         where=where)
            taken[way].append(time.perf_counter() - began)
        for way, rows in kept.items():
            assert rows is not None
            began = time.perf_counter()
            vectors.nearest(rows, vector, 500, mask)
            taken[way].append(time.perf_counter() - began)
    shutil.rmtree(saved)
    return {way: round(statistics.median(t) * 1000, 2) for way, t in taken.items()}


def prepared(count: int) -> Path:
    """Return the data folder of a corpus of `count` chunks, writing it the first time."""
    data = WORK / str(count)
    if not (data / "written").exists():
        began = time.perf_counter()
        write(store.StoreConfig(data, "citeqa"), count)
        model_export.ensure(data)
        (data / "written").write_text(f"{time.perf_counter() - began:.1f}")
    return data


def indexed(cfg: store.StoreConfig, data: Path, count: int) -> dict[str, object]:
    """Bring the corpus back to its written state and return its figures before serving."""
    switch.change([], cfg, keep=lambda doc_id: doc_id != "synthetic/added.md")
    began = time.perf_counter()
    lexicon = lexical.current(cfg, store.client(cfg))
    return {"chunks": len(lexicon), "documents": lexicon.documents,
            "dense_ms": dense_costs(cfg, count),
            "write_s": float((data / "written").read_text()),
            "lexical_check_s": round(time.perf_counter() - began, 2),
            "store_mb": round(size_mb(data) - size_mb(data / lexical.FOLDER)
                              - size_mb(data / "models"), 1),
            "lexical_mb": size_mb(lexicon.folder)}


def served(cfg: store.StoreConfig, result: dict[str, object]) -> None:
    """Serve the store `cfg` names with `citeqa serve` and add what it measures to `result`."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CITEQA_DATA_DIR": str(cfg.data_dir),
           "CITEQA_CHROMA_URL": cfg.chroma_url, "CITEQA_INDEX_CHECK_SECONDS": "0.2"}
    port = free_port()
    began = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "citeqa"), "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--workers", str(WORKERS)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/readyz", timeout=5).status_code == 200,
                   "citeqa serve", 600, proc)
        result["ready_s"] = round(time.perf_counter() - began, 2)
        asked = questions(QUESTIONS)
        latencies(base, asked[:8], 2)  # warm both workers
        result["clients_1"] = latencies(base, asked, 1)
        result["clients_8"] = latencies(base, asked * 2, 8)
        workers = [memory(pid) for pid in children(proc.pid)]
        result["workers"] = workers
        for kind in ("rss_mb", "pss_mb"):
            result[f"server_{kind}"] = round(memory(proc.pid)[kind]
                                             + sum(w[kind] for w in workers), 1)
        result.update(reload_seconds(base, cfg, documents(base)))
        result["worker_rss_after_reload_mb"] = [memory(pid)["rss_mb"]
                                                for pid in children(proc.pid)]
    finally:
        stop(proc)


def measure(count: int) -> dict[str, object]:
    """Measure a server over the embedded store of a corpus."""
    data = prepared(count)
    cfg = store.StoreConfig(data, "citeqa")
    result = indexed(cfg, data, count)
    served(cfg, result)
    return result


def measure_remote(count: int) -> dict[str, object]:
    """Measure a server over the same store served by `chroma run`, from a host of its own.

    The host's data folder holds only the exported model (linked) and its lexical index.
    """
    data = prepared(count)
    host = WORK / f"{count}-host"
    host.mkdir(exist_ok=True)
    models = host / "models"
    if not models.exists():  # absent, or a link left dangling by a store written elsewhere
        models.unlink(missing_ok=True)
        models.symlink_to(data / "models")
    with ChromaServer(data) as chroma:
        cfg = store.StoreConfig(host, "citeqa", chroma.url)
        result = indexed(cfg, data, count)
        served(cfg, result)
        assert chroma.proc is not None
        result["chroma_server"] = memory(chroma.proc.pid)
    return {**result, "store": "chroma run"}


def ordered(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the runs by corpus size, the embedded store first."""
    return sorted(runs.values(), key=lambda r: (int(r["chunks"]), r.get("store", "")))


def label(run: dict[str, Any]) -> str:
    """Return a run's row label: its chunks, and the store when it is a server."""
    return f"{int(run['chunks']):,}" + (f" ({run['store']})" if run.get("store") else "")


def worker(run: dict[str, Any], key: str) -> float:
    """Return the larger worker's figure of one kind (MB)."""
    return max(float(w[key]) for w in run["workers"])


def table(runs: dict[str, dict[str, Any]]) -> str:
    """Return the results as a Markdown table, one row per corpus size."""
    rows = ["| chunks | worker RSS / PSS / private (MB) | server RSS / PSS (MB) | ready (s) | "
            "reload (s) | one-document index (s) | p50 / p95, 1 client (ms) | "
            "p50 / p95, 8 clients (ms) | store + lexical on disk (MB) | load |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for run in ordered(runs):
        one, eight = run["clients_1"], run["clients_8"]
        rows.append(
            f"| {label(run)} | {worker(run, 'rss_mb'):.0f} / {worker(run, 'pss_mb'):.0f} / "
            f"{worker(run, 'private_mb'):.0f} | {run['server_rss_mb']:.0f} / "
            f"{run['server_pss_mb']:.0f} | {run['ready_s']} | {run['reload_s']} | "
            f"{run['incremental_index_s']} | {one['p50_ms']:.0f} / {one['p95_ms']:.0f} | "
            f"{eight['p50_ms']:.0f} / {eight['p95_ms']:.0f} | {run['store_mb']:.0f} + "
            f"{run['lexical_mb']:.0f} | {run['machine_load']:.1f} |")
    return "\n".join(rows)


def dense_table(runs: dict[str, dict[str, Any]]) -> str:
    """Return the cost of one search by meaning, exact and by the store, as a Markdown table."""
    rows = ["| chunks | exact, float32 (ms) | exact, int8 (ms) | Chroma HNSW (ms) | "
            "Chroma HNSW, filtered (ms) |", "|---|---|---|---|---|"]
    rows += [f"| {label(run)} | {run['dense_ms']['exact']} | {run['dense_ms']['exact_int8']} | "
             f"{run['dense_ms']['store']} | {run['dense_ms']['store_filtered']} |"
             for run in ordered(runs)]
    return "\n".join(rows)


def plot(runs: dict[str, dict[str, Any]], path: Path) -> None:
    """Draw worker memory and the answer p50 against the corpus size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for store_name in ("embedded", "chroma run"):
        kept = [r for r in ordered(runs) if r.get("store", "embedded") == store_name]
        sizes = [int(r["chunks"]) for r in kept]
        for key, name in (("rss_mb", "resident"), ("private_mb", "private")):
            left.plot(sizes, [worker(r, key) for r in kept], marker="o",
                      label=f"{store_name}, {name}")
        for clients in (1, 8):
            right.plot(sizes, [r[f"clients_{clients}"]["p50_ms"] for r in kept], marker="o",
                       label=f"{store_name}, {clients} client{'s' if clients > 1 else ''}")
    left.set(xscale="log", xlabel="chunks", ylabel="MB per worker", ylim=(0, None))
    right.set(xscale="log", xlabel="chunks", ylabel="answer p50 (ms)", ylim=(0, None))
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    """Measure every size and write the results, the table and the plot."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "scale.json"
    runs = json.loads(out.read_text()) if out.exists() else {}
    remote = os.environ.get("SCALE_STORE") == "server"
    for count in SIZES:
        key = f"{count}-server" if remote else str(count)
        runs[key] = {**(measure_remote(count) if remote else measure(count)),
                     "machine_load": os.getloadavg()[0]}
        print(key, json.dumps(runs[key]), flush=True)
        out.write_text(json.dumps(runs, indent=1) + "\n")
    replace_section("scale", table(runs))
    replace_section("dense", dense_table(runs))
    plot(runs, DOCS / "scale.png")


if __name__ == "__main__":
    main()
