"""Hostile input gets a clear 4xx JSON error, never a 500 or an HTML page (issue 13, 6 and 9-12)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from index.documents import Document
from index.store import StoreConfig
from service.security import widget_token
from service.web.app import create_app
from tests.support.apps import default_plus
from tests.support.http import assert_json_error
from tests.support.servers import citeqa_server

JSON_ROUTES = ("/api/v1/answer", "/api/v1/search", "/api/v1/feedback", "/v1/chat/completions")


def post_raw(client: FlaskClient, path: str, body: str | bytes) -> Any:
    """Post a raw JSON body."""
    return client.post(path, data=body, content_type="application/json")


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_deeply_nested_json_is_400_on_every_json_route(client: FlaskClient, path: str) -> None:
    assert_json_error(post_raw(client, path, "[" * 30000), 400, "invalid_json")
    assert_json_error(post_raw(client, path, '{"question": ' + "[" * 30000), 400, "invalid_json")


def test_hostile_numbers_and_types_are_400(client: FlaskClient) -> None:
    huge = '{"question": "When?", "top_k": ' + "9" * 5000 + "}"
    for path in ("/api/v1/answer", "/api/v1/search"):
        assert_json_error(post_raw(client, path, huge.replace("question", "question" if
                                                              "answer" in path else "query")),
                          400)
    for top_k in (True, "5", 2.5):
        assert_json_error(client.post("/api/v1/answer", json={"question": "When?",
                                                              "top_k": top_k}), 400)
        assert_json_error(client.post("/api/v1/search", json={"query": "When?",
                                                              "top_k": top_k}), 400)
    assert client.post("/api/v1/search", json={"query": "When?", "top_k": 2}).status_code == 200


def test_lone_surrogate_is_400(client: FlaskClient) -> None:
    chat = '{"model": "citeqa", "messages": [{"role": "user", "content": "When? \\ud800"}]}'
    assert_json_error(post_raw(client, "/v1/chat/completions", chat), 400, "invalid_json")
    assert_json_error(post_raw(client, "/api/v1/answer", '{"question": "\\udfff?"}'), 400,
                      "invalid_json")


def test_feedback_refuses_nan_and_infinity(client: FlaskClient) -> None:
    answer = client.post("/api/v1/answer", json={
        "question": "Until when was Operation IMPACT extended?"}).get_json()
    assert answer["citations"]
    for bad in ("NaN", "Infinity", "-Infinity"):
        body = json.dumps({"question": "q", "answer": answer, "rating": "up"})
        body = body.replace(json.dumps(answer["citations"][0]["score"]), bad, 1)
        assert bad in body
        assert_json_error(post_raw(client, "/api/v1/feedback", body), 400, "invalid_json")


def test_non_ascii_page_token_is_401_not_500(default_index: StoreConfig) -> None:
    keyed = create_app({"data_dir": default_index.data_dir, "api_keys": "k-1"}, load_sync=True)
    client = keyed.test_client()
    for path in ("/api/v1/documents", "/v1/models"):
        resp = client.get(path, headers={widget_token.HEADER: "tökén.sïg"})
        assert_json_error(resp, 401, "unauthorized")
    assert_json_error(client.post("/widget-token", headers={widget_token.HEADER: "ä.b"}), 401)


def test_double_slash_is_json_404_not_a_redirect(client: FlaskClient) -> None:
    for path in ("/api//v1/documents", "/api/v1//documents"):  # `//api`: see the server test
        assert_json_error(client.get(path), 404)


def test_unknown_methods_share_one_metrics_label(client: FlaskClient) -> None:
    for method in ("FOO1", "FOO2", "BREW"):
        assert client.open("/api/v1/documents", method=method).status_code == 405
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'method="other"' in metrics
    assert not any(f'method="{m}"' in metrics for m in ("FOO1", "FOO2", "BREW"))


HOSTILE_TEXT = ("# Orion program notes\n\nThe budget of project Orion12 was 4 million dollars "
                "in 2019.\n\nSee <img src=x onerror=alert(1)> and [click](javascript:alert(2)) "
                "for the budget of project Orion12.\n")


@pytest.fixture(scope="module")
def hostile(default_index: StoreConfig, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[FlaskClient]:
    """Return a client over the corpus plus a document with a `javascript:` URL and HTML."""
    docs = [Document("orion.md", "Orion program notes", "javascript:alert(document.domain)",
                     HOSTILE_TEXT, "orion-v1"),
            Document("linked.md", "Linked notes", "https://example.org/linked",
                     "# Linked notes\n\nThe linked notes say nothing of interest.\n", "linked-v1")]
    cfg = default_plus(default_index, tmp_path_factory.mktemp("hostile"), docs)
    yield create_app({"data_dir": cfg.data_dir, "collection": cfg.collection},
                     load_sync=True).test_client()


def test_only_web_links_leave_the_api(hostile: FlaskClient) -> None:
    listed = {d["id"]: d["url"] for d in hostile.get("/api/v1/documents").get_json()["documents"]}
    assert listed["orion.md"] == "" and listed["linked.md"] == "https://example.org/linked"
    assert hostile.get("/api/v1/documents/orion.md").get_json()["url"] == ""
    hits = hostile.post("/api/v1/search", json={"query": "Orion12 budget"}).get_json()["results"]
    assert hits and all(not h["url"].lower().startswith("javascript") for h in hits)
    answer = hostile.post("/api/v1/answer", json={"question": "What was the budget of project "
                                                              "Orion12?"}).get_json()
    assert all(c["url"] == "" for c in answer["citations"] if c["document_id"] == "orion.md")


def test_openai_route_escapes_document_html_for_markdown(hostile: FlaskClient) -> None:
    resp = hostile.post("/v1/chat/completions", json={"model": "citeqa", "messages": [
        {"role": "user", "content": "Where is the image of project Orion12 with onerror?"}]})
    content = resp.get_json()["choices"][0]["message"]["content"]
    assert "Orion12" in content, content
    assert "<img" not in content and "](javascript" not in content, content
    assert "&lt;img" in content or "onerror" not in content


def test_names_with_digits_are_kept_whole(hostile: FlaskClient) -> None:
    answer = hostile.post("/api/v1/answer", json={"question": "What was the budget of project "
                                                              "Orion12?"}).get_json()
    assert not answer["abstained"], answer["reason"]
    assert "4 million dollars" in answer["answer"]


@pytest.fixture(scope="module")
def gunicorn(default_index: StoreConfig) -> Iterator[str]:
    """Run `citeqa serve` over the default index (the configuration `make run` uses)."""
    with citeqa_server({"CITEQA_DATA_DIR": str(default_index.data_dir),
                        "CITEQA_COLLECTION": default_index.collection}) as base:
        yield base


def raw_exchange(base: str, request: bytes) -> tuple[int, dict[str, str], str]:
    """Send raw bytes to the server; return the status, headers and body of its answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return int(lines[0].split()[1]), headers, body.decode("utf-8", "replace")


@pytest.mark.server
def test_server_errors_are_json_never_html(gunicorn: str) -> None:
    long_url = requests.get(f"{gunicorn}/api/v1/documents?q={'a' * 9000}", timeout=30)
    assert long_url.status_code == 414 and long_url.json()["error"]["code"] == "uri_too_long"
    long_header = requests.get(f"{gunicorn}/healthz", headers={"X-Big": "b" * 10000},
                               timeout=30)
    assert long_header.status_code in (400, 431), long_header.text
    assert long_header.headers["Content-Type"] == "application/json"
    assert "<html" not in long_header.text.lower()
    for path in (b"//api/v1/documents", b"/api/v1//documents"):
        status, headers, text = raw_exchange(gunicorn, b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                       b"Connection: close\r\n\r\n" % path)
        # gunicorn reads `//api/…` as the path `/api/…`; either way no redirect, no HTML
        assert status in (200, 404) and headers["content-type"] == "application/json", text


# gunicorn reads a request line 8 KiB at a time: one under 8 KiB is read whole before it is
# refused, so no unread bytes turn the close into a reset that loses the answer.
@pytest.mark.server
@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GET /healthz?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414),
    (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 10000 + b"\r\n\r\n", 431),
    (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Many: 1\r\n" * 200 + b"\r\n", 431),
    (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n", 400),
    (b"NOT A REQUEST\r\n\r\n", 400),
], ids=["long-line", "long-header", "many-headers", "bad-header-name", "malformed"])
def test_server_errors_carry_the_security_headers(gunicorn: str, request_bytes: bytes,
                                                  status: int) -> None:
    """Issue 23, finding 10: gunicorn's own refusals promise what every response does."""
    got, headers, text = raw_exchange(gunicorn, request_bytes)
    assert got == status, text
    assert headers["content-type"] == "application/json"
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_chunked_body_over_the_limit_is_413(gunicorn: str) -> None:
    body = json.dumps({"question": "a" * 70000}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 8192]), body[i:i + 8192])
                      for i in range(0, len(body), 8192))
    status, headers, text = raw_exchange(gunicorn, (
        b"POST /api/v1/answer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n"))
    assert status == 413, text
    assert headers["content-type"].startswith("application/json")
    assert json.loads(text)["error"]["code"] == "payload_too_large"


@pytest.mark.server
def test_unknown_host_is_refused(gunicorn: str) -> None:
    forged = requests.get(f"{gunicorn}/", headers={"Host": "evil.example"}, timeout=30)
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "unknown_host"
    assert requests.get(f"{gunicorn}/healthz", timeout=30).status_code == 200


def test_app_refuses_unknown_hosts_but_trusts_its_public_one(app: Flask,
                                                            default_index: StoreConfig) -> None:
    public = create_app({"data_dir": default_index.data_dir,
                         "public_url": "https://qa.example.org"}, load_sync=True).test_client()
    assert public.get("/healthz", headers={"Host": "qa.example.org"}).status_code == 200
    assert public.get("/healthz", headers={"Host": "10.0.0.7:8000"}).status_code == 200
    assert_json_error(public.get("/healthz", headers={"Host": "rebound.example"}), 400,
                      "unknown_host")
    assert_json_error(app.test_client().get("/", headers={"Host": "qa.example.org"}), 400,
                      "unknown_host")
