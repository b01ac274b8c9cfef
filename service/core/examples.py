"""Example questions for an empty chat: configured, and kept only if the index answers them."""

from __future__ import annotations

import json
import logging
import threading

from index.access import Access
from index.collections import DEFAULT
from service.core.engine import Engine

log = logging.getLogger("citeqa")
MAX_EXAMPLES = 4


def configured(engine: Engine) -> list[str]:
    """Return the operator's examples: the setting, else `examples.json` in the corpus folder.

    Both describe the default corpus; other collections have none.
    """
    if engine.name != DEFAULT:
        return []
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
    """Compute, once per loaded index and reader, the examples that get a cited answer.

    A question is shown only if it is answered from what that reader may read, so an example
    never hints at a document the reader cannot open.
    """

    def __init__(self) -> None:
        """Start with nothing computed."""
        self._lock = threading.Lock()
        self._answered: dict[tuple[object, ...], list[str]] = {}

    def get(self, engine: Engine, access: Access) -> list[str]:
        """Return up to MAX_EXAMPLES configured questions that the current index answers."""
        with self._lock:
            index = engine.retriever()
            # a rebuilt and reloaded index is a new object, so its examples are recomputed
            key = (engine.name, id(index), access.key())
            if key not in self._answered:
                self._answered = {k: v for k, v in self._answered.items()
                                  if k[0] != key[0] or k[1] == key[1]}
                self._answered[key] = [q for q in configured(engine)
                                       if not engine.answer(q, access=access).abstained]
            return self._answered[key][:MAX_EXAMPLES]
