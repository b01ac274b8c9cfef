"""Named knowledge bases (collections) in one Chroma store, embedded or a `chroma run` server.

`default` is the store's base collection (`CITEQA_COLLECTION`, the corpus indexed as always);
a collection NAME lives in the Chroma collections `<base>--NAME` (chunks), `<base>--NAME_docs`
(full texts) and `<base>--NAME_active` (its index pointer, index/switch.py). Which collections
exist is one record each in `<base>_registry`, so every process and replica sees the same list.

    >>> chroma_base("citeqa", "hr-handbook")
    'citeqa--hr-handbook'
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass, replace

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import NotFoundError

from index import store

DEFAULT = "default"
MAX_EXAMPLES = 4  # example questions a chat shows at most
REGISTRY_SUFFIX = "_registry"
SEPARATOR = "--"
# No underscore: `_docs`, `_active` and generation suffixes must never look like a name.
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")


class CollectionError(ValueError):
    """A collection name that is invalid, taken or unknown."""


def check_name(name: str) -> str:
    """Return a valid collection name or raise CollectionError."""
    if not _NAME.fullmatch(name) or SEPARATOR in name:
        raise CollectionError(
            f"invalid collection name {name[:40]!r}: use 1-40 lowercase letters, digits and "
            "single hyphens, starting and ending with a letter or digit")
    return name


def chroma_base(base: str, name: str) -> str:
    """Return the Chroma base name of a collection."""
    return base if name == DEFAULT else f"{base}{SEPARATOR}{check_name(name)}"


def store_config(cfg: store.StoreConfig, name: str) -> store.StoreConfig:
    """Return the store settings of one collection."""
    return replace(cfg, collection=chroma_base(cfg.collection, name))


def _registry(api: ClientAPI, base: str) -> Collection:
    """Return the collection that lists the named collections."""
    return api.get_or_create_collection(base + REGISTRY_SUFFIX, embedding_function=None)


def names(api: ClientAPI, base: str) -> list[str]:
    """Return every collection's name, `default` first."""
    found = _registry(api, base).get(include=[])["ids"]
    return [DEFAULT, *sorted(n for n in found if n != DEFAULT)]


def exists(api: ClientAPI, base: str, name: str) -> bool:
    """Tell whether a collection exists."""
    if name == DEFAULT:
        return True
    return bool(_registry(api, base).get(ids=[name], include=[])["ids"])


@dataclass(frozen=True)
class About:
    """What an owner says of a collection: a title, a description, the groups of new uploads
    and the example questions of its chat."""

    title: str = ""
    description: str = ""
    groups: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


def _metadata(about: About) -> dict[str, str]:
    """Return the registry fields that hold what an owner says of a collection."""
    return {"title": about.title, "description": about.description,
            "groups": json.dumps(list(about.groups)), "examples": json.dumps(list(about.examples))}


def create(api: ClientAPI, base: str, name: str, about: About | None = None) -> None:
    """Register a new, empty collection."""
    check_name(name)
    if exists(api, base, name):
        raise CollectionError(f"the collection {name!r} already exists")
    store.chunks_collection(api, chroma_base(base, name))
    store.docs_collection(api, chroma_base(base, name))
    about = about or About()
    _registry(api, base).add(ids=[name], embeddings=store.placeholder_vectors(1),
                             metadatas=[{"created": time.time(), **_metadata(about)}])


def describe(api: ClientAPI, base: str, name: str, about: About) -> None:
    """Replace what the owner says of an existing collection (not `default`)."""
    if name == DEFAULT or not exists(api, base, name):
        raise CollectionError(f"no collection named {name!r}")
    _registry(api, base).update(ids=[name], metadatas=[dict(_metadata(about))])


def described(api: ClientAPI, base: str) -> dict[str, About]:
    """Return what the owners said of each collection (nothing for `default`)."""
    found = _registry(api, base).get(include=["metadatas"])
    return {name: About(str(meta.get("title", "")), str(meta.get("description", "")),
                        tuple(json.loads(str(meta.get("groups", "[]")))),
                        tuple(json.loads(str(meta.get("examples", "[]")))))
            for name, meta in zip(found["ids"], found["metadatas"] or [], strict=True) if meta}


def delete(api: ClientAPI, base: str, name: str) -> None:
    """Forget a collection and drop every Chroma collection that belongs to it."""
    if name == DEFAULT:
        raise CollectionError("the default collection cannot be deleted")
    if not exists(api, base, name):
        raise CollectionError(f"no collection named {name!r}")
    _registry(api, base).delete(ids=[name])
    prefix = chroma_base(base, name)
    owned = re.compile(rf"{re.escape(prefix)}(_\d{{20}})?(_docs|_active)?")
    for col in api.list_collections():
        if owned.fullmatch(col.name):
            with contextlib.suppress(NotFoundError, ValueError):
                api.delete_collection(col.name)
