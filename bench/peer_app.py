"""The stack a newcomer builds from LangChain's RAG tutorial instead of citeqa: the peer.

all-MiniLM-L6-v2 through sentence-transformers (langchain-huggingface), chunks from
`RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`, a langchain-chroma store,
`similarity_search(k=4)`, and Flask answering with the best chunk. `bench/peer.py` serves it
with gunicorn exactly as citeqa is served (`bench.peer_app:create_app()`).
"""

from __future__ import annotations

import os

from chromadb.config import Settings
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from langchain_chroma import Chroma
from langchain_core.documents import Document as LangchainDocument
from langchain_huggingface import HuggingFaceEmbeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.documents import Document
from index.model_export import source_path

K = 4


def vector_store(data_dir: str, collection: str) -> Chroma:
    """Return the tutorial's persistent Chroma store with its sentence-transformers embeddings."""
    embeddings = HuggingFaceEmbeddings(model_name=str(source_path()))
    return Chroma(collection_name=collection, embedding_function=embeddings,
                  persist_directory=data_dir,
                  client_settings=Settings(anonymized_telemetry=False))


def split(documents: list[Document]) -> list[LangchainDocument]:
    """Split documents as the tutorial does."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
                                              add_start_index=True)
    return splitter.split_documents([LangchainDocument(page_content=d.text,
                                                       metadata={"doc_id": d.id})
                                     for d in documents])


def build(documents: list[Document], store: Chroma) -> int:
    """Split and add documents to the store; return how many chunks were embedded."""
    chunks = split(documents)
    store.add_documents(chunks)
    return len(chunks)


def create_app() -> Flask:
    """Load the store, then answer each question with its best chunk."""
    store = vector_store(os.environ["PEER_DATA_DIR"], os.environ.get("PEER_COLLECTION", "peer"))
    app = Flask(__name__)

    @app.post("/api/v1/answer")
    def answer() -> ResponseReturnValue:
        """Return the chunk most similar to the question."""
        hits = store.similarity_search(str(request.get_json()["question"]), k=K)
        if not hits:
            return jsonify({"answer": "", "source": {}})
        return jsonify({"answer": hits[0].page_content, "source": hits[0].metadata})

    @app.get("/readyz")
    def readyz() -> ResponseReturnValue:
        """Say the store is loaded (it is, once the app exists)."""
        return jsonify({"status": "ready"})

    return app
