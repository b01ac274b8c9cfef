"""Import a real web site served on loopback: crawl, extract, index, answer, re-import.

The site is a threaded http.server on 127.0.0.1 (robots.txt, a sitemap, links, a page that
robots.txt disallows, a binary file, an oversized page, a redirect off the site); a second one
on 127.0.0.2 stands for "another site" and must never be asked for anything. Loopback is
refused to imports by default, so every import here allows it (CITEQA_IMPORT_ALLOW).
"""

from __future__ import annotations

import functools
import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from index import access, store, switch
from index.build import index_corpus, stored_documents
from index.chunking import chunk_document
from index.crawl import Crawler, CrawlError, Limits, Page, links, sitemap_urls
from index.documents import Document
from index.extract import page_document
from index.store import StoreConfig
from index.webimport import import_site, site_documents
from service.web.app import create_app
from tests.support.cli import run_citeqa
from tests.support.http import ask, if_answered, if_ended
from tests.support.servers import (
    free_port,
    ingest_worker,
    serving_in_thread,
    settings_env,
    wait_until,
)

AGENT = "citeqa-import-test/1"
LOOPBACK = "127.0.0.0/8"  # the test sites' network, refused unless allowed


def page(title: str, body: str, nav: str = "") -> str:
    """Return an HTML page with boilerplate around its main text."""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><header><nav><a href="/">Home</a> {nav}
<p>Accept the cookie banner to continue browsing.</p></nav></header>
<main><article>{body}</article></main>
<footer><p>Copyright the harbour authority, all rights reserved.</p></footer></body></html>"""


FERRY_1 = "The ferry to Gull Island was last repainted in 1987 at the north quay."
FERRY_2 = "The ferry to Gull Island was last repainted in 2019 at the north quay."


def write_site(root: Path, port: int, other: str) -> None:
    """Write the test site's files."""
    base = f"http://127.0.0.1:{port}"
    (root / "robots.txt").write_text(f"User-agent: *\nDisallow: /private/\n"
                                     f"Sitemap: {base}/sitemap.xml\n")
    (root / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}/orphan.html</loc></url>"
        f"<url><loc>{other}/listed-elsewhere.html</loc></url></urlset>")
    nav = ('<a href="about.html">About</a> <a href="private/vault.html">Staff</a> '
           '<a href="ferry.html#times">Ferry</a> <a href="pier.html">Old pier</a> '
           '<a href="deep/one.html">Archive</a> <a href="chart.bin">Chart</a> '
           '<a href="notes.txt">Notes</a> <a href="drafts.html">Drafts</a> '
           f'<a href="big.html">Big</a> <a href="moved.html">Moved</a> '
           f'<a href="{other}/elsewhere.html">Partner</a> <a href="mailto:x@example.org">Mail</a>')
    (root / "index.html").write_text(page("Harbour handbook", """
<h1>Harbour handbook</h1>
<p>The north lighthouse has 3 lamps, lit thirty minutes before sunset by the keeper.</p>
<h2>Mooring rules</h2>
<ul><li>Visiting boats moor on the east pontoon.</li>
<li>Fishing boats keep the west wall clear at all times.</li></ul>
<h2>Speed</h2>
<p>Boats must keep below five knots inside the breakwater of the harbour.</p>""", nav))
    (root / "about.html").write_text(page("About the harbour office", """
<h1>About the harbour office</h1>
<p>The harbour office opens at seven o'clock on weekdays and closes at noon on Saturdays.</p>
<p>Mooring fees are paid at the harbour office in cash or by card.</p>""",
                                             '<a href="index.html">Handbook</a>'))
    (root / "ferry.html").write_text(page("Ferry", f"<h1>Ferry</h1><p>{FERRY_1}</p>"))
    (root / "pier.html").write_text(page("Old pier", """<h1>Old pier</h1>
<p>The old pier was closed for repairs in the winter of 1998 after a storm.</p>"""))
    (root / "orphan.html").write_text(page("Tides", """<h1>Tides</h1>
<p>The tide table is posted every Monday beside the fish market entrance.</p>"""))
    (root / "private").mkdir()
    (root / "private" / "vault.html").write_text(page("Staff", "<p>The vault word is "
                                                      "marmalade-octopus.</p>"))
    (root / "deep").mkdir()
    for name, nxt, fact in (("one", "two", "The first archive box holds the 1950 logbooks."),
                            ("two", "three", "The second archive box holds the 1960 charts."),
                            ("three", "", "The third archive box holds the 1970 photographs.")):
        link = f'<a href="{nxt}.html">Next</a>' if nxt else ""
        (root / "deep" / f"{name}.html").write_text(page(f"Archive {name}",
                                                         f"<h1>Archive {name}</h1><p>{fact}</p>",
                                                         link))
    (root / "notes.txt").write_text("Harbour notes\n\nThe crane on the east quay lifts 12 "
                                    "tonnes at most.\n")
    (root / "drafts.html").write_text(
        page("Drafts", "<p>The draft schedule mentions a secret regatta.</p>"
             '<a href="deep/three.html">Third box</a>')
        .replace("<head>", '<head><meta name="robots" content="noindex, nofollow">'))
    (root / "chart.bin").write_bytes(bytes(range(256)) * 4)
    (root / "big.html").write_text(page("Big", "<p>" + "Huge page about anchors. " * 2000 +
                                        "</p>"))


@dataclass
class Site:
    """The served site, the other site, and what each was asked (path, user agent)."""

    root: Path
    base: str = ""
    other: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)
    elsewhere: list[tuple[str, str]] = field(default_factory=list)

    def asked(self) -> list[str]:
        """Return the paths the site was asked for."""
        return [path for path, _ in self.requests]


def handler(directory: Path, log: list[tuple[str, str]], moved_to: str) -> Any:
    """Return a request handler serving `directory` that records (path, user agent)."""

    class Handler(SimpleHTTPRequestHandler):
        """Serve files; /moved.html redirects to `moved_to`; NAME.status sets NAME's status."""

        def do_GET(self) -> None:
            """Record the request, then answer it."""
            log.append((self.path, self.headers.get("User-Agent", "")))
            status = directory / (self.path.lstrip("/") + ".status")
            if status.is_file():
                self.send_error(int(status.read_text()))
                return
            if self.path == "/moved.html":
                self.send_response(302)
                self.send_header("Location", moved_to)
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return functools.partial(Handler, directory=str(directory))


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    """Serve the test site on 127.0.0.1 and an empty other site on 127.0.0.2."""
    result = Site(tmp_path / "site")
    result.root.mkdir()
    (tmp_path / "other").mkdir()
    other = ThreadingHTTPServer(("127.0.0.2", 0),
                                handler(tmp_path / "other", result.elsewhere, "/"))
    result.other = f"http://127.0.0.2:{other.server_port}"
    served = ThreadingHTTPServer(("127.0.0.1", 0),
                                 handler(result.root, result.requests,
                                         result.other + "/landing.html"))
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        with serving_in_thread(served) as base:
            result.base = base
            write_site(result.root, served.server_port, result.other)
            yield result
    finally:
        other.shutdown()
        thread.join(timeout=10)


def limits(**changes: Any) -> Limits:
    """Return test limits: no delay, short timeouts, a small page size, depth 2."""
    settings: dict[str, Any] = {"max_pages": 50, "max_depth": 2, "delay": 0.0, "timeout": 5.0,
                                "max_bytes": 20_000, "user_agent": AGENT, "allow": LOOPBACK}
    return Limits(**{**settings, **changes})


def served_app(cfg: StoreConfig, tmp_path: Path) -> Flask:
    """Return the real app over the index."""
    return create_app({"data_dir": cfg.data_dir, "collection": cfg.collection,
                       "corpus_dir": tmp_path, "feedback_db": tmp_path / "feedback.sqlite3"},
                      load_sync=True)


def test_import_crawls_the_site_answers_with_page_urls_and_reimports_incrementally(
        site: Site, tmp_path: Path) -> None:
    cfg = StoreConfig(tmp_path / "index", "website")
    first = import_site(site.base + "/", cfg, limits(), progress=False)
    url = site.base + "/"
    expected = {url, f"{url}about.html", f"{url}ferry.html", f"{url}pier.html",
                f"{url}orphan.html", f"{url}deep/one.html", f"{url}deep/two.html",
                f"{url}notes.txt"}
    assert set(first.report.added) == expected  # the sitemap's orphan too; not deep/three
    assert "/private/vault.html" not in site.asked()
    assert f"{url}private/vault.html" in first.skipped
    assert "/deep/three.html" not in site.asked()
    assert "not HTML" in first.skipped[f"{url}chart.bin"]
    assert "larger than" in first.skipped[f"{url}big.html"]
    assert "off the site" in first.skipped[f"{url}moved.html"]
    assert first.skipped[f"{url}index.html"] == f"same text as {url}"
    assert "noindex" in first.skipped[f"{url}drafts.html"]  # and its nofollow link stays unseen
    assert site.elsewhere == []  # no page of another site: linked, listed or redirected to
    assert {agent for _, agent in site.requests} == {AGENT}
    assert site.asked()[0] == "/robots.txt"

    app = served_app(cfg, tmp_path)
    answer = ask(app.test_client(), "When was the ferry to Gull Island last repainted?")
    assert not answer["abstained"] and "1987" in answer["answer"]
    cited = answer["citations"][0]
    assert cited["url"] == cited["document_id"] == f"{url}ferry.html"
    doc = app.test_client().get("/api/v1/documents/" + quote(cited["document_id"], safe=""))
    assert doc.status_code == 200
    assert doc.get_json()["text"][cited["start"]:cited["end"]] == cited["text"]
    handbook = app.test_client().get("/api/v1/documents/" + quote(url, safe="")).get_json()
    assert handbook["title"] == "Harbour handbook"
    assert "## Mooring rules" in handbook["text"]
    assert "- Visiting boats moor on the east pontoon." in handbook["text"]
    assert "cookie banner" not in handbook["text"] and "Copyright" not in handbook["text"]
    lamp = ask(app.test_client(), "How many lamps does the north lighthouse have?")
    assert lamp["citations"][0]["url"] == url
    crane = ask(app.test_client(), "How many tonnes does the crane on the east quay lift?")
    assert crane["citations"][0]["url"] == f"{url}notes.txt" and "12" in crane["answer"]
    assert crane["citations"][0]["title"] == "Harbour notes"

    (site.root / "ferry.html").write_text(page("Ferry", f"<h1>Ferry</h1><p>{FERRY_2}</p>"))
    (site.root / "pier.html").unlink()
    (site.root / "about.html.status").write_text("503")  # down for now: keep what we have
    second = import_site(site.base + "/", cfg, limits(), progress=False)
    assert second.report.added == []
    assert second.report.updated == [f"{url}ferry.html"]
    assert second.report.removed == [f"{url}pier.html"]
    assert second.report.unchanged == len(expected) - 3
    assert second.failed == {f"{url}about.html"} and second.skipped[f"{url}pier.html"] == "HTTP 404"
    changed = chunk_document(next(d for d in site_documents_of(site) if "ferry" in d.id))
    assert second.report.chunks == len(changed)  # only the changed page was embedded again

    app = served_app(cfg, tmp_path)
    repainted = ask(app.test_client(), "When was the ferry to Gull Island last repainted?")
    assert "2019" in repainted["answer"]
    assert ask(app.test_client(), "When was the old pier closed for repairs?")["abstained"]
    listed = {d["id"] for d in app.test_client().get("/api/v1/documents").get_json()["documents"]}
    assert listed == expected - {f"{url}pier.html"}


def site_documents_of(site: Site) -> list[Document]:
    """Return the documents a fresh crawl of the site makes now."""
    return list(site_documents(Crawler(site.base + "/", limits()), {}))


def test_indexing_a_corpus_keeps_imported_pages_and_their_groups(
        site: Site, corpus_copy: Path, tmp_path: Path) -> None:
    cfg = StoreConfig(tmp_path / "index", "mixed")
    about = site.base + "/about.html"
    files = index_corpus(corpus_copy, cfg, progress=False)
    pages = import_site(about, cfg, limits(max_depth=0), progress=False, groups=("crew",))
    assert pages.report.added == [about] and pages.report.removed == []
    again = index_corpus(corpus_copy, cfg, progress=False)
    assert again.removed == [] and again.unchanged == len(files.added)
    switch.rebuild(corpus_copy, cfg, progress=False)
    api = store.client(cfg)
    serving = switch.active(api, cfg.collection).collection
    assert serving != cfg.collection
    carried = {d.id: d for d in stored_documents(api, serving, lambda _: True)}
    assert set(carried) == {about, *files.added}
    assert carried[about].groups == ("crew",)  # a rebuild must not make a page public
    chunks = store.chunks_collection(api, serving).get(where=store.where_doc_in([about]),
                                                       include=["metadatas"])
    assert chunks["metadatas"] and {access.groups_of(m) for m in chunks["metadatas"]} == {
        ("crew",)}
    regrouped = import_site(about, cfg, limits(max_depth=0), progress=False)
    assert regrouped.report.updated == [about]  # new groups re-index the page


def test_an_unreachable_or_refused_start_url_fails_clearly(tmp_path: Path, site: Site) -> None:
    cfg = StoreConfig(tmp_path / "index", "website")
    nobody = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(CrawlError, match="cannot reach"):
        import_site(nobody, cfg, limits(), progress=False)
    with pytest.raises(CrawlError, match=r"robots\.txt disallows"):
        import_site(site.base + "/private/vault.html", cfg, limits(), progress=False)
    with pytest.raises(CrawlError, match="HTTP 404"):
        import_site(site.base + "/nowhere.html", cfg, limits(), progress=False)
    with pytest.raises(CrawlError, match="not HTML or text"):
        import_site(site.base + "/chart.bin", cfg, limits(), progress=False)
    with pytest.raises(CrawlError, match="not an http"):
        Crawler("file:///etc/passwd", limits())
    done = run_citeqa("import", nobody, "--data-dir", str(tmp_path / "cli"), timeout=120,
                      env={"CITEQA_IMPORT_ALLOW": LOOPBACK})
    assert done.returncode == 2
    assert done.stderr.startswith(f"citeqa import: cannot reach {nobody}robots.txt")
    assert "Traceback" not in done.stderr


def citeqa(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `citeqa` command, importing fast and with a small page limit."""
    return run_citeqa(*args, timeout=300, env={"CITEQA_IMPORT_DELAY": "0",
                                               "CITEQA_IMPORT_MAX_PAGE_BYTES": "20000",
                                               "CITEQA_IMPORT_ALLOW": LOOPBACK})


@pytest.mark.slow
def test_citeqa_import_into_a_collection_then_ask_it(site: Site, tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    refused = citeqa("import", site.base + "/", "--collection", "harbour", *data)
    assert refused.returncode == 2 and "no collection named 'harbour'" in refused.stderr
    assert citeqa("collections", "create", "harbour", *data).returncode == 0
    done = citeqa("import", site.base + "/", "--collection", "harbour", "--max-depth", "1",
                  *data)
    assert done.returncode == 0, done.stderr
    assert "indexed 7 new, 0 changed, 0 removed" in done.stdout  # start, 5 links, orphan
    assert f"skipped {site.base}/big.html: larger than 20000 bytes" in done.stdout
    assert f"skipped {site.base}/private/vault.html: disallowed by robots.txt" in done.stdout
    asked = citeqa("ask", "--json", "--collection", "harbour", *data,
                   "How many tonnes does the crane on the east quay lift?")
    cited = json.loads(asked.stdout)["citations"][0]
    assert cited["url"] == site.base + "/notes.txt" and "12 tonnes" in cited["text"]
    elsewhere = citeqa("ask", "--collection", "default", *data, "How heavy a load can it lift?")
    assert elsewhere.returncode == 3 and "the index is empty" in elsewhere.stderr  # not here


@pytest.mark.server
def test_the_api_imports_a_site_in_the_background(site: Site, tmp_path: Path) -> None:
    settings = {"data_dir": tmp_path / "data", "corpus_dir": tmp_path,
                "admin_keys": "import-admin", "import_delay": 0.0,
                "import_max_page_bytes": 20_000, "index_check_seconds": 0.1,
                "import_allow": LOOPBACK}
    app = create_app(settings, load_sync=True)
    with ingest_worker(settings_env(settings)):
        api_import(app.test_client(), site)


def api_import(client: FlaskClient, site: Site) -> None:
    """Import the site through the API (a worker process runs the job), then a dead site."""
    admin = {"Authorization": "Bearer import-admin"}
    assert client.post("/api/v1/collections", json={"name": "harbour"},
                       headers=admin).status_code == 201
    path = "/api/v1/collections/harbour/import"
    assert client.post(path, json={"url": site.base + "/"}).status_code == 401
    bad = client.post(path, json={"url": "ftp://127.0.0.1/x"}, headers=admin)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_import"
    assert client.post("/api/v1/collections/nowhere/import", json={"url": site.base + "/"},
                       headers=admin).status_code == 404
    accepted = client.post(path, json={"url": site.base + "/", "max_depth": 1, "max_pages": 9},
                           headers=admin)
    assert accepted.status_code == 202, accepted.get_json()
    job = accepted.get_json()
    assert job == {"id": f"import:{site.base}/", "status": "queued"}
    status = wait_until(lambda: if_ended(client.get(accepted.headers["Location"],
                                                     headers=admin).get_json()), "import", 120)
    assert status["status"] == "ready", status
    assert status["reason"].startswith("fetched "), status  # the owner reads what it did
    body = wait_until(lambda: if_answered(client.post(
        "/api/v1/collections/harbour/answer", headers=admin,
        json={"question": "How many tonnes does the crane lift?"}).get_json()), "an answer", 30)
    assert body["citations"][0]["url"] == site.base + "/notes.txt"
    down = client.post(path, json={"url": f"http://127.0.0.1:{free_port()}/"}, headers=admin)
    failed_at = down.headers["Location"]
    status = wait_until(lambda: if_ended(client.get(failed_at, headers=admin).get_json()),
                        "the failing import", 60)
    assert status["status"] == "failed", status
    assert status["reason"].startswith("cannot reach")


def test_page_and_depth_limits(site: Site, tmp_path: Path) -> None:
    crawler = Crawler(site.base + "/", limits(max_pages=3))
    assert len(list(crawler.pages())) == 3 and crawler.fetched == 3 and not crawler.complete
    cfg = StoreConfig(tmp_path / "index", "website")
    whole = import_site(site.base + "/", cfg, limits(), progress=False)
    (site.root / "about.html").unlink()
    cut = import_site(site.base + "/", cfg, limits(max_pages=3), progress=False)
    assert cut.report.removed == [f"{site.base}/about.html"]  # seen gone; the rest unreached
    assert cut.report.unchanged == 2 and len(whole.report.added) > 4  # the start, the orphan
    crawler = Crawler(site.base + "/", limits(max_depth=0))
    assert [p.url for p in crawler.pages()] == [site.base + "/"]


def test_links_and_sitemaps_are_parsed_by_their_formats() -> None:
    html = (b'<html><head><base href="/docs/"></head><body><a href="a.html#top">A</a>'
            b'<a href="../b.html" rel="nofollow">B</a><area href="c.html"><a>no href</a>'
            b"</body></html>")
    assert links(Page("http://h.test/x/page.html", "text/html", html, None)) == [
        "http://h.test/docs/a.html", "http://h.test/docs/c.html"]
    index = (b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
             b'sitemap/0.9"><sitemap><loc> http://h.test/s1.xml </loc></sitemap></sitemapindex>')
    assert sitemap_urls(index) == ([], ["http://h.test/s1.xml"])
    entity = (b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
              b"<urlset><url><loc>http://h.test/&e;</loc></url></urlset>")
    pages, _ = sitemap_urls(entity)
    assert pages and all(p == "http://h.test/" for p in pages)
    assert sitemap_urls(b"not xml at all") == ([], [])


def test_chunks_of_an_imported_page_follow_its_headings(site: Site) -> None:
    doc = page_document(next(Crawler(site.base + "/", limits(max_depth=0)).pages()))
    assert doc is not None
    assert {c.heading for c in chunk_document(doc)} == {"Harbour handbook", "Mooring rules",
                                                        "Speed"}
