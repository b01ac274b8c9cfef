"""Memory per serving reload: one engine answering on two threads while `citeqa index` runs in
another process and the engine reloads the changed index, RELOADS_COUNT times (every fifth a
`--rebuild`). Writes bench/results/reloads.json: resident memory, open files and threads after
each reload, and the growth per reload once the first three have warmed the process up.

    python -m bench.reloads         # RELOADS_COUNT=12
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from service.core.engine import Engine
from service.settings import Config
from tests.support.servers import BIN

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
COUNT = int(os.environ.get("RELOADS_COUNT", "12"))
WARM = 3


def process() -> dict[str, float]:
    """Return this process's resident memory (MB), open files and threads."""
    status = Path("/proc/self/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return {"rss_mb": round(rss / 1024, 1), "files": len(os.listdir("/proc/self/fd")),
            "threads": len(os.listdir("/proc/self/task"))}


def main() -> None:
    """Reload COUNT times under traffic and write the figures."""
    work = Path(tempfile.mkdtemp(prefix="citeqa-reloads-"))
    corpus = work / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CITEQA_DATA_DIR": str(work / "data"),
           "CITEQA_CORPUS_DIR": str(corpus)}
    subprocess.run([str(BIN / "citeqa"), "index"], env=env, check=True, capture_output=True)
    engine = Engine(Config.from_env(data_dir=work / "data", index_check_seconds=0.2))
    engine.load()
    done, failed = threading.Event(), [0]

    def ask() -> None:
        while not done.is_set():
            try:
                engine.answer("What does the government do to promote stability?")
            except Exception:  # a request on a stopped store would land here
                failed[0] += 1

    askers = [threading.Thread(target=ask) for _ in range(2)]
    for thread in askers:
        thread.start()
    steps = [process()]
    try:
        for n in range(1, COUNT + 1):
            (corpus / "reload-note.md").write_text(f"# Reload note\n\nRevision {n} lists "
                                                   f"{n * 3} checks.\n")
            version = engine.loaded().version
            subprocess.run([str(BIN / "citeqa"), "index", *(["--rebuild"] if n % 5 == 0 else [])],
                           env=env, check=True, capture_output=True, timeout=600)
            deadline = time.monotonic() + 60
            while engine.loaded().version == version and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # requests on the old generation finish
            steps.append(process())
            print(n, steps[-1], flush=True)
    finally:
        done.set()
        for thread in askers:
            thread.join()
        shutil.rmtree(work, ignore_errors=True)
    warm, last = steps[WARM], steps[-1]
    result = {"reloads": COUNT, "failed_requests": failed[0], "steps": steps,
              "rss_mb_per_reload_after_warmup": round((last["rss_mb"] - warm["rss_mb"])
                                                      / (COUNT - WARM), 2),
              "rss_growth_after_warmup": round(last["rss_mb"] / warm["rss_mb"] - 1, 4),
              "files_growth": last["files"] - warm["files"],
              "threads_growth": last["threads"] - warm["threads"]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "reloads.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}))


if __name__ == "__main__":
    main()
