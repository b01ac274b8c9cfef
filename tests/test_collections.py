"""Collections: created and filled through the API and the command line, each answering alone."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfWriter

from index.store import StoreConfig
from service.web.app import create_app
from service.web.feedback import FeedbackStore
from tests.support.apps import page_token
from tests.support.cli import run_citeqa
from tests.support.http import if_answered, if_ended
from tests.support.paths import ROOT
from tests.support.servers import ingest_worker, settings_env, wait_until

ADMIN = "admin-key-for-tests"
READER = "reader-key-for-tests"
SCOPED = "scoped-key-for-tests"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
AS_READER = {"Authorization": f"Bearer {READER}"}
GARDEN = ("# Garden rules\n\nThe community garden opens at 7 a.m. on weekdays.\n\n"
          "Compost bins are emptied every 14 days.\n")


@pytest.fixture(scope="module")
def app(default_index: StoreConfig, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Flask]:
    """Return an app over a copy of the default index, with admin, reader and scoped keys,
    and an ingest worker process beside it."""
    data = tmp_path_factory.mktemp("collections")
    shutil.copytree(default_index.data_dir, data, dirs_exist_ok=True)
    store = {"data_dir": data, "collection": default_index.collection}
    with ingest_worker(settings_env(store)):
        yield create_app({**store, "corpus_dir": ROOT / "corpus", "admin_keys": ADMIN,
                          "api_keys": f"{READER}, {SCOPED}@garden",
                          "index_check_seconds": 0.1}, load_sync=True)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """Return a test client."""
    return app.test_client()


def wait_ready(client: FlaskClient, collection: str, doc_id: str,
               timeout: float = 120) -> dict[str, Any]:
    """Poll a document's status until indexing ends; return the document."""
    return wait_until(lambda: if_ended(client.get(
        f"/api/v1/collections/{collection}/documents/{doc_id}", headers=AS_ADMIN).get_json()),
        f"indexing {doc_id}", timeout)


def answered(client: FlaskClient, collection: str, question: str, expected: str = "",
             headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Ask until the reloaded index answers (with `expected`), as serving processes catch up."""
    def asked() -> dict[str, Any]:
        resp = client.post(f"/api/v1/collections/{collection}/answer",
                           json={"question": question}, headers=headers or AS_READER)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        body: dict[str, Any] = resp.get_json()
        return body
    return wait_until(lambda: if_answered(asked(), expected), f"an answer to {question}", 30)


@pytest.fixture(scope="module")
def garden(app: Flask) -> str:
    """Create the `garden` collection and upload one document; return its id."""
    client = app.test_client()
    resp = client.post("/api/v1/collections", json={"name": "garden"}, headers=AS_ADMIN)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json() == {"name": "garden", "model": "citeqa-garden", "title": "",
                               "description": "", "groups": [], "examples": []}
    resp = client.post("/api/v1/collections/garden/documents", headers=AS_ADMIN,
                       data={"file": (io.BytesIO(GARDEN.encode()), "rules.md"),
                             "title": "Garden rules"})
    assert resp.status_code == 202, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"id", "status"} and body["status"] == "queued"
    assert wait_ready(client, "garden", body["id"])["status"] == "ready"
    return str(body["id"])


def test_an_uploaded_document_answers_in_its_collection_only(client: FlaskClient,
                                                             garden: str) -> None:
    body = answered(client, "garden", "When does the community garden open?")
    assert not body["abstained"] and "7 a.m." in body["answer"]
    cite = body["citations"][0]
    assert cite["document_id"] == garden and cite["title"] == "Garden rules"
    doc = client.get(f"/api/v1/collections/garden/documents/{garden}", headers=AS_READER)
    text = doc.get_json()["text"]
    assert text[cite["start"]:cite["end"]] == cite["text"]
    assert doc.get_json()["status"] == "ready"
    default = client.post("/api/v1/answer", json={"question": "When does the community garden "
                                                               "open?"}, headers=AS_READER)
    assert default.get_json()["abstained"] is True
    assert client.get(f"/api/v1/documents/{garden}", headers=AS_READER).status_code == 404
    impact = answered(client, "default", "Until when did Canada extend Operation IMPACT?")
    assert "March 31, 2017" in impact["answer"]


def test_collections_are_listed_and_one_model_each(client: FlaskClient, garden: str) -> None:
    names = [c["name"] for c in client.get("/api/v1/collections",
                                           headers=AS_READER).get_json()["collections"]]
    assert names[0] == "default" and "garden" in names
    models = [m["id"] for m in client.get("/v1/models", headers=AS_READER).get_json()["data"]]
    assert models[0] == "citeqa" and "citeqa-garden" in models
    resp = client.post("/v1/chat/completions", headers=AS_READER, json={
        "model": "citeqa-garden",
        "messages": [{"role": "user", "content": "How often are the compost bins emptied?"}]})
    assert resp.status_code == 200
    message = resp.get_json()["choices"][0]["message"]
    assert "14 days" in message["content"] and message["citations"]
    assert client.post("/v1/chat/completions", headers=AS_READER, json={
        "model": "citeqa-nowhere", "messages": [{"role": "user", "content": "hi"}]
    }).status_code == 404


def test_feedback_is_kept_per_collection(app: Flask, client: FlaskClient, garden: str) -> None:
    body = answered(client, "garden", "When does the community garden open?")
    resp = client.post("/api/v1/collections/garden/feedback", headers=AS_READER, json={
        "question": "When does the community garden open?", "answer": body, "rating": "up"})
    assert resp.status_code == 200
    store = FeedbackStore(app.extensions["citeqa.engine"].config.feedback_db)
    cases = list(store.eval_cases("garden"))
    assert [c["question"] for c in cases] == ["When does the community garden open?"]
    assert list(store.eval_cases("default")) == []
    assert client.post("/api/v1/collections/nowhere/feedback", headers=AS_READER, json={
        "question": "q", "answer": body, "rating": "up"}).status_code == 404


def test_roles_and_scopes(client: FlaskClient, garden: str) -> None:
    as_scoped = {"Authorization": f"Bearer {SCOPED}"}
    assert client.post("/api/v1/collections", json={"name": "nope"},
                       headers=AS_READER).status_code == 403
    assert client.post("/api/v1/collections", json={"name": "nope"}).status_code == 401
    upload = {"file": (io.BytesIO(b"text"), "a.txt")}
    assert client.post("/api/v1/collections/garden/documents", data=upload,
                       headers=AS_READER).status_code == 403
    assert client.post("/api/v1/collections/garden/search", json={"query": "compost"},
                       headers=as_scoped).status_code == 200
    assert client.post("/api/v1/search", json={"query": "compost"},
                       headers=as_scoped).status_code == 403
    models = [m["id"] for m in client.get("/v1/models", headers=as_scoped).get_json()["data"]]
    assert models == ["citeqa-garden"]
    assert client.post("/api/v1/collections/nowhere/search", json={"query": "compost"},
                       headers=AS_READER).status_code == 404


def test_a_scoped_key_page_token_reads_only_the_key_collections(client: FlaskClient,
                                                                 garden: str) -> None:
    """Issue 23, finding 1: a page token minted with a scoped key keeps the key's scope."""
    as_scoped = {"Authorization": f"Bearer {SCOPED}"}
    minted = client.post("/widget-token", headers=as_scoped)
    assert minted.status_code == 200
    renewed = client.post("/widget-token", headers={**as_scoped,
                                                    "X-Citeqa-Token": minted.get_json()["token"]})
    from_page = page_token(client, "/?collection=garden", **as_scoped)
    assert from_page
    for token in (minted.get_json()["token"], renewed.get_json()["token"], from_page):
        as_page = {"X-Citeqa-Token": token}
        assert client.post("/api/v1/collections/garden/search", json={"query": "compost"},
                           headers=as_page).status_code == 200
        for refused in (client.post("/api/v1/search", json={"query": "Jordan"}, headers=as_page),
                        client.get("/api/v1/documents", headers=as_page),
                        client.post("/api/v1/answer", json={"question": "Jordan?"},
                                    headers=as_page),
                        client.post("/v1/chat/completions", headers=as_page, json={
                            "model": "citeqa",
                            "messages": [{"role": "user", "content": "Jordan?"}]})):
            assert refused.status_code == 403, refused.get_data(as_text=True)
        models = client.get("/v1/models", headers=as_page).get_json()["data"]
        assert [m["id"] for m in models] == ["citeqa-garden"]
        listed = client.get("/api/v1/collections", headers=as_page).get_json()["collections"]
        assert [c["name"] for c in listed] == ["garden"]
    assert client.get("/", headers=as_scoped).status_code == 403


@pytest.mark.parametrize(("name", "body", "status", "code"), [
    ("bad.exe", b"MZ", 415, "unsupported_file_type"),
    ("empty.txt", b"  \n", 400, "empty_file"),
])
def test_refused_uploads_say_why(client: FlaskClient, garden: str, name: str, body: bytes,
                                 status: int, code: str) -> None:
    resp = client.post("/api/v1/collections/garden/documents", headers=AS_ADMIN,
                       data={"file": (io.BytesIO(body), name)})
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == code


def test_readers_see_the_status_of_documents_they_may_read(client: FlaskClient,
                                                          garden: str) -> None:
    """A public upload's status is visible to readers; a restricted one's is not."""
    public = client.post("/api/v1/collections/garden/documents", headers=AS_ADMIN, json={
        "text": "The gate code changes monthly.", "title": "Gate"}).get_json()["id"]
    hidden = client.post("/api/v1/collections/garden/documents", headers=AS_ADMIN, json={
        "text": "The board meets in secret.", "title": "Board", "groups": ["board"]}
    ).get_json()["id"]
    seen = client.get(f"/api/v1/collections/garden/documents/{public}", headers=AS_READER)
    assert seen.status_code == 200 and seen.get_json()["status"] in ("queued", "indexing",
                                                                     "ready")
    assert seen.get_json()["groups"] == []
    assert client.get(f"/api/v1/collections/garden/documents/{hidden}",
                      headers=AS_READER).status_code == 404
    assert wait_ready(client, "garden", hidden)["groups"] == ["board"]


def test_readers_never_see_an_import_address_or_its_error(client: FlaskClient,
                                                          garden: str) -> None:
    """Issue 23, finding 11: an import's URL and network error are for admins only."""
    site = "http://intranet-wiki.invalid/hr/"
    resp = client.post("/api/v1/collections/garden/import", json={"url": site},
                       headers=AS_ADMIN)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    job = resp.get_json()["id"]
    seen = wait_ready(client, "garden", quote(job, safe=""))
    assert seen["status"] == "failed" and "intranet-wiki.invalid" in seen["reason"], seen
    reader = client.get(resp.headers["Location"], headers=AS_READER)
    assert reader.status_code == 200
    shown = reader.get_json()
    assert shown["status"] == "failed" and shown["reason"], shown
    assert seen["reason"] not in shown["reason"]
    assert "intranet-wiki" not in shown["title"] + shown["reason"], shown


def test_unreadable_pdf_fails_with_a_reason(client: FlaskClient, garden: str) -> None:
    resp = client.post("/api/v1/collections/garden/documents", headers=AS_ADMIN,
                       data={"file": (io.BytesIO(b"%PDF-1.4 not really a pdf"), "broken.pdf")})
    assert resp.status_code == 202
    body = wait_ready(client, "garden", resp.get_json()["id"])
    assert body["status"] == "failed" and "PDF" in body["reason"]
    assert "broken.pdf" in body["reason"] and "/tmp" not in body["reason"]


def encrypted_pdf() -> bytes:
    """Return a one-page PDF that needs a password to open."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_encrypted_pdf_fails_with_a_reason(client: FlaskClient, garden: str) -> None:
    resp = client.post("/api/v1/collections/garden/documents", headers=AS_ADMIN,
                       data={"file": (io.BytesIO(encrypted_pdf()), "locked.pdf")})
    body = wait_ready(client, "garden", resp.get_json()["id"])
    assert body["status"] == "failed" and "encrypted" in body["reason"], body


def test_replace_and_delete_a_document(client: FlaskClient, garden: str) -> None:
    resp = client.post("/api/v1/collections/garden/documents", headers=AS_ADMIN,
                       json={"text": "The tool shed key hangs in the Blue Room.",
                             "title": "Shed"})
    doc_id = resp.get_json()["id"]
    assert wait_ready(client, "garden", doc_id)["status"] == "ready"
    assert "Blue Room" in answered(client, "garden", "Where does the shed key hang?")["answer"]
    resp = client.put(f"/api/v1/collections/garden/documents/{doc_id}", headers=AS_ADMIN,
                      json={"text": "The tool shed key hangs in the Red Room.", "title": "Shed"})
    assert resp.status_code == 202
    assert wait_ready(client, "garden", doc_id)["status"] == "ready"
    assert "Red Room" in answered(client, "garden", "Where does the shed key hang?",
                                  "Red Room")["answer"]
    assert client.delete(f"/api/v1/collections/garden/documents/{doc_id}",
                         headers=AS_ADMIN).status_code == 202
    wait_until(lambda: client.get(f"/api/v1/collections/garden/documents/{doc_id}",
                                  headers=AS_ADMIN).status_code == 404, "the deletion", 60)


@pytest.mark.server
def test_an_accepted_upload_survives_a_restart(tmp_path: Path, default_index: StoreConfig
                                               ) -> None:
    """Queue a document while no ingest worker runs, then let a new app and worker index it."""
    settings = {"data_dir": tmp_path, "collection": "survive", "admin_keys": ADMIN}
    client = create_app(settings).test_client()
    assert client.post("/api/v1/collections", json={"name": "notes"},
                       headers=AS_ADMIN).status_code == 201
    doc_id = client.post("/api/v1/collections/notes/documents", headers=AS_ADMIN, json={
        "text": "The lighthouse lamp was replaced in 1998.", "title": "Lamp"}).get_json()["id"]
    second = create_app(settings).test_client()
    assert second.get(f"/api/v1/collections/notes/documents/{doc_id}",
                      headers=AS_ADMIN).get_json()["status"] == "queued"  # nobody indexes it
    with ingest_worker(settings_env(settings)):
        assert wait_ready(second, "notes", doc_id)["status"] == "ready"


@pytest.mark.slow
def test_command_line_manages_and_indexes_collections(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bees.md").write_text("# Bees\n\nThe hives were inspected on May 3, 2021.\n")
    env = {"CITEQA_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    assert run_citeqa("index", "--collection", "bees", "--corpus", str(corpus),
                  env=env).returncode == 2
    assert run_citeqa("collections", "create", "bees", env=env).returncode == 0
    done = run_citeqa("index", "--collection", "bees", "--corpus", str(corpus), env=env)
    assert done.returncode == 0 and "1 new" in done.stdout
    assert run_citeqa("collections", "list", env=env).stdout.split() == ["default", "bees"]
    asked = run_citeqa("ask", "--collection", "bees", "When were the hives inspected?", env=env)
    assert "May 3, 2021" in asked.stdout
    assert run_citeqa("collections", "delete", "bees", env=env).returncode == 0
    assert run_citeqa("collections", "list", env=env).stdout.split() == ["default"]
    assert run_citeqa("collections", "delete", "default", env=env).returncode == 2


