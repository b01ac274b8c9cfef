"""Where a serving process's memory goes: one engine loads an index, traced by tracemalloc.

Prints resident memory after imports, after the model loads and after the index loads, and the
traced Python and numpy allocations of the load by the module that made them (the Chroma
client's Rust side and the ONNX runtime are not traced: they show as resident memory only).

    python -m bench.memory build/scale/15000              # a store bench.scale wrote
    MEMORY_TRACE=1 python -m bench.memory build/scale/15000   # and by module (slower, bigger)
"""

from __future__ import annotations

import json
import os
import sys
import tracemalloc
from collections import Counter
from pathlib import Path

from service.core.engine import Engine
from service.settings import Config


def rss_mb() -> float:
    """Return this process's resident memory (MB)."""
    status = Path("/proc/self/status").read_text()
    return round(next(int(line.split()[1]) for line in status.splitlines()
                      if line.startswith("VmRSS:")) / 1024, 1)


def main() -> None:
    """Load the engine over the data folder named on the command line and print the figures."""
    data = Path(sys.argv[1])
    steps = {"imports": rss_mb()}
    engine = Engine(Config.from_env(data_dir=data))
    steps["engine"] = rss_mb()
    tracing = os.environ.get("MEMORY_TRACE") == "1"
    if tracing:
        tracemalloc.start(8)
    engine.load()
    if engine.status:
        raise SystemExit(engine.status)
    steps["index loaded"] = rss_mb()
    engine.answer("What does the report say?")
    steps["first answer"] = rss_mb()
    if not tracing:
        print(json.dumps({"rss_mb": steps}))
        return
    snapshot = tracemalloc.take_snapshot()
    by_module: Counter[str] = Counter()
    for stat in snapshot.statistics("traceback"):
        # the innermost line of ours that asked, and the library call that allocated
        frames = list(stat.traceback)
        ours = [f for f in frames if "/service/" in f.filename or "/index/" in f.filename]
        where = ours[-1] if ours else frames[-1]
        library = frames[-1].filename.split("site-packages/")[-1].split("/")[0]
        by_module[f"{Path(where.filename).name}:{where.lineno} via {library}"] += stat.size
    print(json.dumps({"rss_mb": steps, "traced_mb": round(sum(by_module.values()) / 2**20, 1),
                      "traced_by_module_mb": {m: round(s / 2**20, 1)
                                              for m, s in by_module.most_common(10)}}, indent=1))


if __name__ == "__main__":
    main()
