"""One loaded index generation: everything a request reads, swapped in one assignment."""

from __future__ import annotations

from dataclasses import dataclass

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from service.core.retrieval import Retriever


@dataclass(frozen=True)
class LoadedIndex:
    """The retriever, the document texts and the version of one index generation."""

    api: ClientAPI
    retriever: Retriever
    texts: Collection
    version: str
