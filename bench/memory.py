"""Where a serving process's memory goes: one engine loads an index, traced by tracemalloc.

Prints resident memory after imports, after the model loads and after the index loads, and the
traced Python and numpy allocations of the load by the module that made them (the Chroma
client's Rust side and the ONNX runtime are not traced: they show as resident memory only).

    python -m bench.memory build/scale/15000      # a store bench.scale wrote
"""

from __future__ import annotations

import json
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
    tracemalloc.start(8)
    engine.load()
    if engine.status:
        raise SystemExit(engine.status)
    steps["index loaded"] = rss_mb()
    engine.answer("What does the report say?")
    steps["first answer"] = rss_mb()
    snapshot = tracemalloc.take_snapshot()
    by_module: Counter[str] = Counter()
    for stat in snapshot.statistics("traceback"):
        frames = [f.filename for f in stat.traceback]
        mine = next((f for f in frames if "/service/" in f or "/index/" in f), frames[0])
        by_module[mine.split("site-packages/")[-1].split("/h-scale/")[-1]] += stat.size
    print(json.dumps({"rss_mb": steps, "traced_mb": round(sum(by_module.values()) / 2**20, 1),
                      "traced_by_module_mb": {m: round(s / 2**20, 1)
                                              for m, s in by_module.most_common(8)}}, indent=1))


if __name__ == "__main__":
    main()
