"""Example questions for an empty chat: configured, and kept only if the index answers them."""

from __future__ import annotations

import json
import logging
import threading

from service.core.engine import Engine

log = logging.getLogger("citeqa")
MAX_EXAMPLES = 4


def configured(engine: Engine) -> list[str]:
    """Return the operator's examples: the setting, else `examples.json` in the corpus folder."""
    if engine.config.examples:
        return list(engine.config.examples)
    path = engine.config.corpus_dir / "examples.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return []
    return [q for q in data if isinstance(q, str) and q.strip()] if isinstance(data, list) else []


class Examples:
    """Compute, once per loaded index, the examples that get a cited answer (no abstention)."""

    def __init__(self) -> None:
        """Start with nothing computed."""
        self._lock = threading.Lock()
        self._index: object = None
        self._answered: list[str] = []

    def get(self, engine: Engine) -> list[str]:
        """Return up to MAX_EXAMPLES configured questions that the current index answers."""
        with self._lock:
            index = engine.retriever()
            if index is not self._index:  # first call, or the index was rebuilt and reloaded
                self._answered = [q for q in configured(engine)
                                  if not engine.answer(q).abstained]
                self._index = index
            return self._answered[:MAX_EXAMPLES]
