"""Ingestion in its own process, within limits (issue 23, findings 2 to 6).

Every test drives a real `citeqa worker` (or `citeqa serve`) process over a real Chroma store;
imports read a real HTTP site on 127.0.0.1 whose pages can be slow, trickle, or ask for a long
Crawl-delay.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
import requests
from flask import Flask
from flask.testing import FlaskClient

from bench.ingest import worker_pids
from bench.ingest_data import FACT, Site, dense_pdf, long_text
from index.addresses import AddressPolicy
from index.crawl import Crawler, CrawlError, Limits
from index.store import StoreConfig
from index.uploads import MAX_ATTEMPTS, Queue
from index.webimport import import_site
from service.settings import Config, SettingError
from service.web.app import create_app
from tests.support.servers import (
    citeqa_server,
    ingest_worker,
    redis_server,
    serving_in_thread,
    settings_env,
)

ADMIN = "ingest-admin"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
LOOPBACK = "127.0.0.0/8"


@pytest.fixture()
def site() -> Iterator[Site]:
    """Serve a plain site (no Crawl-delay)."""
    served = Site()
    with serving_in_thread(served.server):
        yield served


@pytest.fixture()
def slow_site() -> Iterator[Site]:
    """Serve a site whose robots.txt asks for an hour between requests."""
    served = Site("User-agent: *\nCrawl-delay: 3600\n")
    with serving_in_thread(served.server):
        yield served


def limits(**changes: Any) -> Limits:
    """Return quick crawl limits that allow the loopback test site."""
    return Limits(**{"delay": 0.0, "timeout": 3.0, "max_depth": 1, "allow": LOOPBACK,
                     **changes})


def wait_for(check: Callable[[], Any], timeout: float = 180) -> Any:
    """Poll `check()` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.3)
    return found


def status(client: FlaskClient, collection: str, doc_id: str) -> dict[str, Any]:
    """Return a document's status as an admin sees it."""
    body: dict[str, Any] = client.get(f"/api/v1/collections/{collection}/documents/"
                                      f"{quote(doc_id, safe='')}", headers=AS_ADMIN).get_json()
    return body


def ended(client: FlaskClient, collection: str, doc_id: str,
          timeout: float = 180) -> dict[str, Any]:
    """Wait until a job is ready or failed; return its status."""
    done: dict[str, Any] = wait_for(lambda: (s := status(client, collection, doc_id))[
        "status"] in ("ready", "failed") and s, timeout)
    return done


@pytest.fixture()
def settings(tmp_path: Path) -> dict[str, Any]:
    """Return the settings of an app and its worker over a fresh data folder."""
    return {"data_dir": tmp_path / "data", "admin_keys": ADMIN, "index_check_seconds": 0.1,
            "import_delay": 0.0, "import_timeout": 3.0}


def app_with(settings: dict[str, Any], *collections: str) -> Flask:
    """Return an app with these settings and these collections created."""
    app = create_app(settings)
    for name in collections:
        assert app.test_client().post("/api/v1/collections", json={"name": name},
                                      headers=AS_ADMIN).status_code == 201
    return app


def upload(client: FlaskClient, collection: str, text: str, title: str = "Notes") -> str:
    """Upload a text document; return its id."""
    resp = client.post(f"/api/v1/collections/{collection}/documents", headers=AS_ADMIN,
                       json={"text": text, "title": title})
    assert resp.status_code == 202, resp.get_data(as_text=True)
    return str(resp.get_json()["id"])


@pytest.mark.server
@pytest.mark.slow
def test_serve_ends_a_big_upload_without_a_web_worker_timeout_and_keeps_its_worker(
        tmp_path: Path, default_index: StoreConfig) -> None:
    """Finding 2: a 9.99 MB text upload ends with a reason and the collection goes on; the
    ingest worker `citeqa serve` started is started again after `kill -9`."""
    shutil.copytree(default_index.data_dir, tmp_path / "data")  # served once /readyz says so
    log = (tmp_path / "serve.log").open("wb")
    env = {"CITEQA_DATA_DIR": str(tmp_path / "data"), "CITEQA_ADMIN_KEYS": ADMIN,
           "CITEQA_COLLECTION": default_index.collection,
           "CITEQA_RATE_LIMIT": "", "CITEQA_RATE_LIMIT_IP": ""}
    with citeqa_server(env, log=log) as base:
        assert requests.post(f"{base}/api/v1/collections", json={"name": "big"},
                             headers=AS_ADMIN, timeout=30).status_code == 201
        files = {"file": ("big.txt", long_text(9_990_000).encode()[:9_990_000])}
        big = requests.post(f"{base}/api/v1/collections/big/documents", headers=AS_ADMIN,
                            files=files, timeout=60).json()["id"]
        small = requests.post(f"{base}/api/v1/collections/big/documents", headers=AS_ADMIN,
                              json={"text": FACT, "title": "Ferry"}, timeout=30).json()["id"]

        def job(doc_id: str) -> Any:
            body = requests.get(f"{base}/api/v1/collections/big/documents/{doc_id}",
                                headers=AS_ADMIN, timeout=30).json()
            return body["status"] in ("ready", "failed") and body

        refused = wait_for(lambda: job(big))
        assert refused["status"] == "failed" and "2,000,000 characters" in refused["reason"]
        assert wait_for(lambda: job(small))["status"] == "ready"
        killed = worker_pids(tmp_path / "data")
        assert len(killed) == 1
        os.kill(killed[0], signal.SIGKILL)  # `serve` starts its worker again
        wait_for(lambda: (pids := worker_pids(tmp_path / "data")) and pids != killed)
        again = requests.post(f"{base}/api/v1/collections/big/documents", headers=AS_ADMIN,
                              json={"text": FACT, "title": "Again"}, timeout=30).json()["id"]
        assert wait_for(lambda: job(again))["status"] == "ready"
    log.close()
    assert "WORKER TIMEOUT" not in (tmp_path / "serve.log").read_text(errors="replace")


@pytest.mark.server
@pytest.mark.slow
def test_a_burst_of_uploads_all_end(settings: dict[str, Any]) -> None:
    """Finding 2: every upload of a burst is indexed (the collection never stops half-way)."""
    client = app_with(settings, "burst").test_client()
    ids = [upload(client, "burst", f"Boat {i} moors at berth {i} of the east pontoon.")
           for i in range(200)]
    with ingest_worker(settings_env(settings)):
        for doc_id in ids:
            assert ended(client, "burst", doc_id, timeout=600)["status"] == "ready"
    listed = client.get("/api/v1/collections/burst/documents", headers=AS_ADMIN).get_json()
    assert sorted(d["id"] for d in listed["documents"]) == sorted(ids)


@pytest.mark.server
def test_workers_share_a_redis_queue(settings: dict[str, Any]) -> None:
    """With CITEQA_INGEST_QUEUE=redis://…, the web tier and the worker meet in Redis."""
    with redis_server() as url:
        settings["ingest_queue"] = url
        client = app_with(settings, "shared").test_client()
        doc_id = upload(client, "shared", FACT, "Ferry")
        assert redis.Redis.from_url(url).dbsize() > 0  # the message waits in Redis
        with ingest_worker(settings_env(settings)):
            assert ended(client, "shared", doc_id)["status"] == "ready"


@pytest.mark.server
def test_a_small_pdf_of_much_text_is_refused_with_a_reason(settings: dict[str, Any]) -> None:
    """Finding 5: a PDF of 73 KB that holds 30 MB of text is not read to its end."""
    body = dense_pdf(pages=300, chars_per_page=100_000)
    assert len(body) < 100_000
    client = app_with(settings, "pdfs").test_client()
    resp = client.post("/api/v1/collections/pdfs/documents", headers=AS_ADMIN,
                       data={"file": (io.BytesIO(body), "dense.pdf")})
    with ingest_worker(settings_env(settings)):
        done = ended(client, "pdfs", resp.get_json()["id"])
    assert done["status"] == "failed", done
    assert "over 2,000,000 characters" in done["reason"]


@pytest.mark.server
@pytest.mark.slow
def test_an_import_honours_a_long_crawl_delay_only_within_its_budget(
        slow_site: Site, settings: dict[str, Any]) -> None:
    """Finding 3: `Crawl-delay: 3600` ends the import at its budget; other work goes on."""
    settings |= {"import_allow": LOOPBACK, "import_max_seconds": 5,
                 "import_max_crawl_delay": 2}
    client = app_with(settings, "harbour", "other").test_client()
    job = client.post("/api/v1/collections/harbour/import", headers=AS_ADMIN,
                      json={"url": slow_site.base + "/"}).get_json()["id"]
    doc_id = upload(client, "other", FACT)
    with ingest_worker(settings_env(settings)):
        assert ended(client, "harbour", job)["status"] == "ready"
        assert ended(client, "other", doc_id)["status"] == "ready"
    # two seconds apart, not an hour; the next page would pass the budget
    assert slow_site.requests == ["/robots.txt", "/sitemap.xml", "/"]
    quick = Crawler(slow_site.base + "/", limits(max_crawl_delay=0.1))
    assert len(list(quick.pages())) == 2 and quick.complete  # the cap, honoured


def test_a_page_that_trickles_is_cut_at_the_timeout(site: Site, tmp_path: Path) -> None:
    """Finding 4: one byte every 2 s does not keep a page within CITEQA_IMPORT_TIMEOUT."""
    result = import_site(site.base + "/", StoreConfig(tmp_path / "index", "web"),
                         limits(timeout=3.0), progress=False)
    assert set(result.report.added) == {site.base + "/", site.base + "/tides.html"}
    assert result.skipped[site.base + "/slow.html"] == "request failed (ReadTimeout)"
    assert result.failed == {site.base + "/slow.html"}  # a passing failure: kept if indexed


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "2130706433", "0x7f.0.0.1",
                                  "localhost", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0"])
def test_imports_refuse_loopback_in_every_spelling(site: Site, host: str) -> None:
    """Finding 6: the loopback site is refused by default, before any request reaches it."""
    port = site.server.server_port
    with pytest.raises(CrawlError, match="refused"):
        list(Crawler(f"http://{host}:{port}/", limits(allow="")).pages())
    assert site.requests == []


def test_the_address_policy_denies_the_host_and_metadata_unless_allowed() -> None:
    """Finding 6: loopback, link-local, unspecified and metadata addresses are refused."""
    import ipaddress

    default = AddressPolicy()
    refused = ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::",
               "169.254.169.254", "fe80::1", "100.100.100.200", "fd00:ec2::254"]
    assert not any(default.permits(ipaddress.ip_address(a)) for a in refused)
    assert all(default.permits(ipaddress.ip_address(a)) for a in ["10.1.2.3", "192.0.2.7",
                                                                  "2001:db8::1"])
    opened = AddressPolicy.parse(allow="127.0.0.0/8", deny="127.0.0.2/32")
    assert opened.permits(ipaddress.ip_address("127.0.0.1"))
    assert not opened.permits(ipaddress.ip_address("127.0.0.2"))  # the narrower rule wins
    only = AddressPolicy.parse(allow="10.20.0.0/16", deny="0.0.0.0/0, ::/0")
    assert only.permits(ipaddress.ip_address("10.20.3.4"))
    assert not only.permits(ipaddress.ip_address("10.21.3.4"))
    assert not only.permits(ipaddress.ip_address("2001:db8::1"))
    with pytest.raises(SettingError, match="CITEQA_IMPORT_ALLOW"):
        Config.from_env(import_allow="10.0.0.0/8, intranet")


def test_a_denied_network_is_refused_even_when_loopback_is_allowed(site: Site) -> None:
    """Finding 6: CITEQA_IMPORT_DENY restricts what CITEQA_IMPORT_ALLOW opened."""
    with pytest.raises(CrawlError, match="refused"):
        list(Crawler(site.base + "/", limits(deny="127.0.0.1/32")).pages())
    assert site.requests == []
    assert len(list(Crawler(site.base + "/", limits(max_depth=0)).pages())) == 1


@pytest.mark.server
def test_an_api_import_of_the_host_itself_fails_with_the_reason(
        site: Site, settings: dict[str, Any]) -> None:
    """Finding 6: by default an import job cannot read a service on the host."""
    client = app_with(settings, "harbour").test_client()
    job = client.post("/api/v1/collections/harbour/import", headers=AS_ADMIN,
                      json={"url": site.base + "/"}).get_json()["id"]
    with ingest_worker(settings_env(settings)):
        done = ended(client, "harbour", job)
    assert done["status"] == "failed" and "refused" in done["reason"]
    assert site.requests == []


@pytest.mark.server
@pytest.mark.slow
def test_a_killed_worker_loses_nothing_and_serves_nothing_half_done(
        settings: dict[str, Any], tmp_path: Path) -> None:
    """A `kill -9` mid-indexing: the next worker indexes the document once, whole."""
    app = app_with(settings, "crash")
    client = app.test_client()
    text = long_text(400_000)
    doc_id = upload(client, "crash", text, "Moorings")
    with ingest_worker(settings_env(settings)) as worker:
        wait_for(lambda: status(client, "crash", doc_id)["status"] == "indexing")
        time.sleep(2)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert status(client, "crash", doc_id)["status"] == "indexing"
    readers = client.get("/api/v1/collections/crash/documents").get_json()["documents"]
    assert readers == []  # not served while not recorded whole
    with ingest_worker(settings_env(settings)):
        assert ended(client, "crash", doc_id)["status"] == "ready"
    done = wait_for(lambda: (d := status(client, "crash", doc_id)).get("text") and d)
    assert done["text"] == text and done["length"] == len(text)
    listed = client.get("/api/v1/collections/crash/documents").get_json()["documents"]
    assert [d["id"] for d in listed] == [doc_id]


@pytest.mark.server
@pytest.mark.slow
def test_a_job_reports_progress_stops_at_its_time_limit_and_on_delete(
        settings: dict[str, Any], tmp_path: Path) -> None:
    """A running job shows its progress, fails past CITEQA_INGEST_MAX_SECONDS, and stops
    when its document is deleted."""
    client = app_with(settings, "long").test_client()
    # long enough to outlast the lease renewal that sees the delete, even on idle cores
    doc_id = upload(client, "long", long_text(1_900_000), "Long")
    log = (tmp_path / "worker.log").open("wb")
    with ingest_worker(settings_env(settings), log=log):
        running = wait_for(lambda: (s := status(client, "long", doc_id))["progress"] and s)
        assert running["status"] == "indexing"
        assert client.delete(f"/api/v1/collections/long/documents/{doc_id}",
                             headers=AS_ADMIN).status_code == 202
        wait_for(lambda: client.get(f"/api/v1/collections/long/documents/{doc_id}",
                                    headers=AS_ADMIN).status_code == 404)
        wait_for(lambda: "cancelled" in (tmp_path / "worker.log").read_text())
    log.close()
    timed = settings | {"ingest_max_seconds": 2}
    slow = upload(client, "long", long_text(600_000), "Slow")
    with ingest_worker(settings_env(timed)):
        done = ended(client, "long", slow)
    assert done["status"] == "failed" and "longer than 2 seconds" in done["reason"]


def test_a_job_whose_worker_keeps_dying_fails_after_its_tries(tmp_path: Path) -> None:
    """A document that kills the worker each time cannot hold its collection for ever."""
    queue = Queue.in_folder(tmp_path)
    queue.put("notes", "bomb", "bomb.txt", "Bomb", (), b"text")
    queue.put("notes", "later", "later.txt", "Later", (), b"text")
    for n in range(MAX_ATTEMPTS):
        claimed = queue.claim("notes", f"host:{n}")
        assert claimed is not None and claimed[0].id == "bomb"
        assert queue.release_dead(lambda owner: True) == 1  # its worker died mid-job
    claimed = queue.claim("notes", "host:next")
    assert claimed is not None and claimed[0].id == "later"  # the collection goes on
    failed = queue.get("notes", "bomb")
    assert failed is not None and failed.status == "failed"
    assert f"stopped {MAX_ATTEMPTS} times" in failed.reason
    queue.put("notes", "bomb", "bomb.txt", "Bomb", (), b"fixed")  # a new version: new tries
    assert queue.get("notes", "bomb").status == "queued"  # type: ignore[union-attr]
