"""Example questions for an empty chat: configured, and kept only if the index answers them."""

from __future__ import annotations

import json
import logging
import threading

from index.access import Access
from index.collections import DEFAULT, MAX_EXAMPLES
from service.core.engine import Engine

log = logging.getLogger("citeqa")


def configured(engine: Engine, own: tuple[str, ...] = ()) -> list[str]:
    """Return a collection's examples: those its owner gave (`own`), else for the default
    collection the operator's, the setting or `examples.json` in the corpus folder."""
    if own or engine.name != DEFAULT:
        return list(own)
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

    def get(self, engine: Engine, access: Access, own: tuple[str, ...] = ()) -> list[str]:
        """Return up to MAX_EXAMPLES configured questions that the current index answers."""
        with self._lock:
            index = engine.retriever()
            # a rebuilt and reloaded index is a new object, and edited examples a new tuple,
            # so the examples are recomputed
            key = (engine.name, id(index), access.key(), own)
            if key not in self._answered:
                self._answered = {k: v for k, v in self._answered.items()
                                  if k[0] != key[0] or (k[1], k[3]) == (key[1], key[3])}
                self._answered[key] = [q for q in configured(engine, own)
                                       if not engine.answer(q, access=access).abstained]
            return self._answered[key][:MAX_EXAMPLES]
