"""Past one machine: a real `chroma run` server, atomic rebuilds, and limits shared via Redis."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from index import store, switch
from index.store import StoreConfig
from service.web.app import create_app
from tests.support.cli import run_citeqa
from tests.support.paths import ROOT
from tests.support.servers import ChromaServer, redis_server, wait_until

pytestmark = pytest.mark.server
QUESTION = {"question": "Until when was Operation IMPACT extended?"}
NEW_DOC = "# Depot notes\n\nThe Halifax supply depot was painted green on April 4, 2016.\n"


def citeqa(*args: str, env: dict[str, str]) -> str:
    """Run the `citeqa` command with these settings; return what it printed."""
    result = run_citeqa(*args, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def remote(chroma: ChromaServer, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[dict[str, str], Path, Flask]]:
    """Index a corpus into the server with `citeqa index`; yield its env, corpus and an app."""
    corpus = tmp_path_factory.mktemp("remote") / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    local = tmp_path_factory.mktemp("unused-local-store")
    env = {"CITEQA_CHROMA_URL": chroma.url, "CITEQA_CORPUS_DIR": str(corpus),
           "CITEQA_DATA_DIR": str(local), "HF_HUB_OFFLINE": "1"}
    assert "1 new" in citeqa("index", env=env)
    app = create_app({"chroma_url": chroma.url, "data_dir": local, "index_check_seconds": 0.2},
                     load_sync=True)
    yield env, corpus, app
    # a replica keeps only the exported model and its host's copy of the lexical index
    assert {p.name for p in local.iterdir()} <= {"models", "lexical"}, \
        "client/server mode wrote a local store"


def serving(app: Flask) -> str:
    """Return the collection the app's engine serves now."""
    return str(app.extensions["citeqa.engine"].retriever().chunks.name)


def answer(app: Flask) -> dict[str, Any]:
    """Ask the usual question and check the citation is an exact span."""
    client = app.test_client()
    body: dict[str, Any] = client.post("/api/v1/answer", json=QUESTION).get_json()
    cite = body["citations"][0]
    doc = client.get(f"/api/v1/documents/{cite['document_id']}").get_json()
    assert "March 31, 2017" in body["answer"]
    assert doc["text"][cite["start"]:cite["end"]] == cite["text"]
    return body


def test_service_answers_from_the_chroma_server(remote: tuple[dict[str, str], Path, Flask]
                                                ) -> None:
    _, _, app = remote
    answer(app)
    ready = app.test_client().get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["documents"] == 1


def test_rebuild_switches_serving_processes_without_restart(
        remote: tuple[dict[str, str], Path, Flask], chroma: ChromaServer) -> None:
    env, _, app = remote
    generations = []
    for _ in range(3):
        before = serving(app)
        citeqa("index", "--rebuild", env=env)
        wait_until(lambda before=before: serving(app) != before,  # type: ignore[misc]
                   "the switch", 30)
        generations.append(serving(app))
        assert re.fullmatch(r"citeqa_\d{20}", generations[-1])
        answer(app)
    api = store.client(StoreConfig(Path("."), "citeqa", chroma.url))
    names = {c.name for c in api.list_collections()}
    # The serving generation and the one before it stay; older ones are dropped.
    assert {generations[-1], generations[-2]} <= names and generations[0] not in names
    assert generations[0] + store.DOCS_SUFFIX not in names


def test_incremental_index_reaches_serving_processes(
        remote: tuple[dict[str, str], Path, Flask], chroma: ChromaServer) -> None:
    env, corpus, app = remote
    api = store.client(StoreConfig(Path("."), "citeqa", chroma.url))
    before = switch.active(api, "citeqa")
    (corpus / "depot.md").write_text(NEW_DOC)
    assert "1 new" in citeqa("index", env=env)
    after = switch.active(api, "citeqa")
    assert after.collection == before.collection and after.version != before.version
    client = app.test_client()

    def has_depot() -> bool:  # searching shows the reloaded index, not just the stored texts
        hits = client.post("/api/v1/search", json={"query": "Halifax supply depot"}).get_json()
        return any(h["document_id"] == "depot.md" for h in hits["results"])

    wait_until(has_depot, "the change", 30)
    body = client.post("/api/v1/answer",
                       json={"question": "When was the Halifax supply depot painted?"}).get_json()
    assert "April 4, 2016" in body["answer"] and body["citations"][0]["document_id"] == "depot.md"
    assert "0 new, 0 changed, 0 removed" in citeqa("index", env=env)


def test_rate_limits_are_shared_through_redis(default_index: StoreConfig) -> None:
    with redis_server() as url:
        apps = [create_app({"data_dir": default_index.data_dir, "redis_url": url,
                            "rate_limit": "", "rate_limit_ip": "3/minute"}, load_sync=True)
                for _ in range(2)]
        codes = [apps[i % 2].test_client().get("/api/v1/documents").status_code
                 for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
