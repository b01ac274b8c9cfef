"""Who may read a document: its access groups, stored with every chunk and checked in retrieval.

A document with no groups is public: every reader of its collection may read it. A document
with groups is readable only by callers in at least one of them. The rule is written into
Chroma metadata (`public`, `groups`) so the store's own `where` clause applies it before
ranking, and read back by the retriever for the same rule as a mask over BM25 scores and over
the vectors it ranks in memory.

    >>> Access(frozenset({"hr"})).allows({"public": False, "groups": ["hr", "legal"]})
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from chromadb.api.types import Where

PUBLIC_KEY = "public"
GROUPS_KEY = "groups"
MAX_GROUPS = 50
_GROUP = re.compile(r"[\w.:@/+-]{1,100}")


class GroupError(ValueError):
    """A group name that cannot be stored or compared safely."""


def clean_groups(groups: Iterable[str]) -> tuple[str, ...]:
    """Return the groups sorted and deduplicated, refusing blank, odd or too many names.

    Names are kept exactly as sent, never stripped or normalised: `"hr\u3000"` or `"hr\xa0"`
    is refused, not read as `hr` (a portal's token must not open another group's documents).
    """
    found = sorted(set(groups))
    for group in found:
        if not _GROUP.fullmatch(group):
            raise GroupError(f"invalid group name {group[:40]!r}: use letters, digits and "
                             ". _ : @ / + - (100 characters at most)")
    if len(found) > MAX_GROUPS:
        raise GroupError(f"a document may have at most {MAX_GROUPS} groups")
    return tuple(found)


def split_groups(given: str | Sequence[str]) -> list[str]:
    """Split groups typed as `hr, legal` (only ASCII spaces around names go); keep a list."""
    if not isinstance(given, str):
        return list(given)
    return [name.strip(" ") for name in given.split(",") if name.strip(" ")]


def metadata(groups: tuple[str, ...]) -> dict[str, Any]:
    """Return the Chroma metadata that records who may read a document."""
    if not groups:
        return {PUBLIC_KEY: True}
    return {PUBLIC_KEY: False, GROUPS_KEY: list(groups)}


def groups_of(meta: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Return the groups stored in a record's metadata (none: public)."""
    stored = (meta or {}).get(GROUPS_KEY) or []
    return tuple(str(g) for g in stored) if isinstance(stored, list) else ()


@dataclass(frozen=True)
class Access:
    """What one caller may read: public documents, those of `groups`, or `everything`."""

    groups: frozenset[str] = frozenset()
    everything: bool = False

    def allows(self, meta: Mapping[str, Any] | None) -> bool:
        """Tell whether a record with this metadata is readable."""
        if self.everything:
            return True
        groups = groups_of(meta)
        return not groups or bool(self.groups.intersection(groups))

    def where(self) -> Where | None:
        """Return the Chroma filter that keeps only readable records (None: no filter)."""
        if self.everything:
            return None
        clauses: list[dict[str, Any]] = [{PUBLIC_KEY: True}]
        clauses += [{GROUPS_KEY: {"$contains": g}} for g in sorted(self.groups)]
        return cast(Where, clauses[0] if len(clauses) == 1 else {"$or": clauses})

    def key(self) -> tuple[bool, tuple[str, ...]]:
        """Return a hashable key for caching what this caller sees."""
        return self.everything, tuple(sorted(self.groups))


PUBLIC = Access()
EVERYTHING = Access(everything=True)
