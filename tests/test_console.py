"""The console's API: the admin key checked on entry, collections described, a file replaced
by its name, and a document's title and groups edited (it is indexed again)."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.web.app import create_app
from tests.support.servers import ingest_worker, settings_env, wait_until

ADMIN = "console-admin-key"
READER = "console-reader-key"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
DOCS = "/api/v1/collections/garden/documents"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """Return an app over an empty store, with an admin and a reader key, and its worker."""
    data = tmp_path_factory.mktemp("console")
    with ingest_worker(settings_env({"data_dir": data})):
        yield create_app({"data_dir": data, "admin_keys": ADMIN, "api_keys": READER,
                          "index_check_seconds": 0.1})


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    """Return a client of the app with the `garden` collection created and described."""
    web = app.test_client()
    made = web.post("/api/v1/collections", headers=AS_ADMIN, json={
        "name": "garden", "title": "Garden handbook", "description": "Rules of the plots",
        "groups": "gardeners, staff", "examples": ["When do the gates close?"]})
    assert made.status_code == 201, made.get_json()
    return web


def settled(client: FlaskClient, doc_id: str) -> dict[str, Any]:
    """Wait until a document's indexing ends; return it."""
    found: dict[str, Any] = {}

    def done() -> bool:
        found.update(client.get(f"{DOCS}/{doc_id}", headers=AS_ADMIN).get_json())
        return found.get("status") in ("ready", "failed")

    wait_until(done, "indexing")
    return found


def upload(client: FlaskClient, name: str, text: str, groups: str = "") -> str:
    """Upload a file; return its document id."""
    resp = client.post(DOCS, headers=AS_ADMIN, data={"file": (BytesIO(text.encode()), name),
                                                     "groups": groups, "replace": "same-name"})
    assert resp.status_code == 202, resp.get_json()
    return str(resp.get_json()["id"])


@pytest.mark.parametrize(("key", "status", "code"), [
    ("", 401, "unauthorized"), ("wrong-key", 401, "unauthorized"), (READER, 403, "forbidden")])
def test_a_key_that_may_not_manage_is_refused_on_entry(client: FlaskClient, key: str,
                                                       status: int, code: str) -> None:
    """The console checks the key before showing anything, and says why it is refused."""
    resp = client.get("/api/v1/admin", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == code
    assert client.get("/api/v1/admin", headers=AS_ADMIN).get_json() == {"admin": True}


def test_a_collection_keeps_its_title_description_and_groups(client: FlaskClient) -> None:
    """What the owner said at creation comes back in the list."""
    listed = client.get("/api/v1/collections", headers=AS_ADMIN).get_json()["collections"]
    garden = next(c for c in listed if c["name"] == "garden")
    assert garden == {"name": "garden", "model": garden["model"], "title": "Garden handbook",
                      "description": "Rules of the plots", "groups": ["gardeners", "staff"],
                      "examples": ["When do the gates close?"]}
    bad = client.post("/api/v1/collections", headers=AS_ADMIN,
                      json={"name": "other", "groups": "not a group!"})
    assert bad.status_code == 400


def test_a_file_uploaded_again_under_its_name_replaces_the_first(client: FlaskClient) -> None:
    """Uploading rules.md twice (asking to replace by name) leaves one document, the second."""
    first = upload(client, "rules.md", "Gates close at dusk.\n")
    settled(client, first)
    second = upload(client, "rules.md", "Gates close at nine in the evening.\n")
    assert second == first
    assert "nine in the evening" in settled(client, first)["text"]
    listed = client.get(DOCS, headers=AS_ADMIN).get_json()["documents"]
    assert [d["id"] for d in listed].count(first) == 1 and len(listed) == 1
    plain = client.post(DOCS, headers=AS_ADMIN, data={"file": (BytesIO(b"Gates open.\n"),
                                                                "rules.md")})
    assert plain.get_json()["id"] != first  # not asked to replace: a new document, as before
    settled(client, plain.get_json()["id"])


def test_a_documents_title_and_groups_are_edited(client: FlaskClient) -> None:
    """PATCH indexes the same file again under the new title and groups."""
    doc_id = upload(client, "tools.md", "The tool shed opens on Saturdays.\n", "staff")
    settled(client, doc_id)
    resp = client.patch(f"{DOCS}/{doc_id}", headers=AS_ADMIN,
                        json={"title": "Tool shed", "groups": "gardeners"})
    assert resp.status_code == 202, resp.get_json()
    found = settled(client, doc_id)
    assert (found["title"], found["groups"]) == ("Tool shed", ["gardeners"])
    assert "Saturdays" in found["text"]
    missing = client.patch(f"{DOCS}/nope", headers=AS_ADMIN, json={"title": "x"})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "unknown_document"
    assert client.patch(f"{DOCS}/{doc_id}", headers={"Authorization": f"Bearer {READER}"},
                        json={"title": "x"}).status_code == 403


@pytest.mark.parametrize(("examples", "code"), [
    (["  "], "invalid_examples"), (["x" * 1001], "invalid_examples"),
    (["a?", "b?", "c?", "d?", "e?"], "invalid_request"), ("one?", "invalid_request")])
def test_bad_examples_are_refused(client: FlaskClient, examples: object, code: str) -> None:
    """Examples are at most four non-empty questions within the question length limit."""
    for resp in (client.patch("/api/v1/collections/garden", headers=AS_ADMIN,
                              json={"examples": examples}),
                 client.post("/api/v1/collections", headers=AS_ADMIN,
                             json={"name": "other", "examples": examples})):
        assert resp.status_code == 400, resp.get_json()
        assert resp.get_json()["error"]["code"] == code
    listed = client.get("/api/v1/collections", headers=AS_ADMIN).get_json()["collections"]
    assert "other" not in [c["name"] for c in listed]


def test_a_collections_own_examples_are_edited_and_shown_when_answered(
        client: FlaskClient) -> None:
    """PATCH replaces the examples; the chat gets those the index answers, not the others."""
    settled(client, upload(client, "shed.md", "The tool shed opens on Saturdays.\n"))
    asked = ["When does the tool shed open?", "What colour is the moon at midnight?"]
    resp = client.patch("/api/v1/collections/garden", headers=AS_ADMIN,
                        json={"examples": asked})
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["examples"], resp.get_json()["title"]) == (asked, "Garden handbook")
    shown: dict[str, Any] = {}

    def answered() -> bool:  # the new document reaches this process's index in a moment
        shown.update(client.get("/api/v1/collections/garden/examples", headers=AS_ADMIN).get_json())
        return bool(shown["examples"])

    wait_until(answered, "the example answered")
    assert shown == {"examples": asked[:1]}
    assert client.patch("/api/v1/collections/garden", headers={
        "Authorization": f"Bearer {READER}"}, json={"examples": []}).status_code == 403
    missing = client.patch("/api/v1/collections/nope", headers=AS_ADMIN, json={"examples": []})
    assert missing.status_code == 404


def test_the_console_page_is_served_at_its_contract_path(client: FlaskClient) -> None:
    """/console is a page (checks outside the repo open it), in French when asked."""
    resp = client.get("/console", headers={"Accept-Language": "fr"})
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert '<html lang="fr">' in html and "Clé d’administration" in html
