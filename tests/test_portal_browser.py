"""A portal in a real Chromium: the documents page of a collection, and the widget that answers
from one collection with the signed-in person's groups, handed over by postMessage."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from service.web.app import create_app
from tests.support.servers import (
    free_port,
    ingest_worker,
    serving_in_thread,
    settings_env,
    wait_until,
)

pytestmark = pytest.mark.browser
ADMIN = "portal-admin-key"
SECRET = "portal-user-token-secret-0123456789"
RESTRICTED = "# Salary bands\n\nThe senior engineer salary band was raised on June 2, 2024.\n"
WAIT_MS = 60_000
PUBLIC = "# Canteen\n\nThe canteen menu changed on April 9, 2024.\n"
STRUCTURED = ("# Leave policy\n\nStaff read this first.\n\n## Holidays\n\n"
              "- Annual leave is 25 days per year.\n- Carry-over ends on March 31, 2025.\n\n"
              "Questions go to the HR desk.\n")


@pytest.fixture(scope="module")
def portal_port() -> int:
    """Reserve the port of the portal on 127.0.0.2."""
    return free_port("127.0.0.2")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, portal_port: int) -> Iterator[str]:
    """Serve citeqa with an `hr` collection holding a public and a restricted document."""
    data = tmp_path_factory.mktemp("portal-data")
    app = create_app({"data_dir": data, "admin_keys": ADMIN,
                      "user_token_secret": SECRET, "index_check_seconds": 0.2,
                      "allowed_origins": (f"http://127.0.0.2:{portal_port}",)})
    with ingest_worker(settings_env({"data_dir": data})), \
            serving_in_thread(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        assert requests.post(f"{url}/api/v1/collections", json={"name": "hr"}, headers=auth,
                             timeout=30).status_code == 201
        for text, groups in ((RESTRICTED, "hr-managers"), (PUBLIC, ""), (STRUCTURED, "")):
            doc = requests.post(f"{url}/api/v1/collections/hr/documents", headers=auth,
                                json={"text": text, "groups": groups}, timeout=30).json()
            assert "id" in doc, doc
            wait_until(lambda d=doc: requests.get(
                f"{url}/api/v1/collections/hr/documents/{d['id']}", headers=auth, timeout=30
            ).json()["status"] == "ready", "indexing")
        yield url



@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    """Open a fresh page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    try:
        yield pg
    finally:
        context.close()


def portal_html(base: str, token: str) -> str:
    """Return a portal page that embeds the widget for the `hr` collection."""
    attr = f' data-user-token="{token}"' if token else ""
    return (f'<!doctype html><html><head><title>Portal</title></head><body><h1>HR</h1>'
            f'<script src="{base}/widget.js" data-title="Ask HR" data-collection="hr"{attr} '
            'async></script></body></html>')


@pytest.fixture(scope="module")
def portal(base: str, portal_port: int, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    """Serve portal pages on 127.0.0.2: one with a manager's token, one without."""
    site = tmp_path_factory.mktemp("portal-site")
    manager = jwt.encode({"groups": ["hr-managers"], "exp": int(time.time()) + 3600}, SECRET,
                         "HS256")
    (site / "manager.html").write_text(portal_html(base, manager))
    (site / "visitor.html").write_text(portal_html(base, ""))
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(portal_port), "--bind",
                             "127.0.0.2", "--directory", str(site)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.2:{portal_port}"
    try:
        wait_until(lambda: requests.get(url + "/manager.html", timeout=2).ok, "portal", 30, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def ask_widget(page: Page, url: str, question: str) -> str:
    """Open the widget on a portal page, ask, and return the finished answer card's text."""
    requests_seen: list[str] = []
    page.on("request", lambda r: requests_seen.append(r.url))
    page.goto(url)
    page.get_by_role("button", name="Open Ask HR").click()
    frame = page.frame_locator("iframe[title='Ask HR']")
    # chat.js shows the close button once its handlers are on: typing before that is lost
    expect(frame.locator("#close-widget")).to_be_visible(timeout=WAIT_MS)
    box = frame.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    card = frame.locator("article.msg.bot").last
    # the widget's chat loads first, then the answer: allow a slow, shared machine
    expect(card).to_be_attached(timeout=WAIT_MS)
    expect(card).not_to_have_attribute("aria-busy", "true", timeout=WAIT_MS)
    assert not any("token" in u.lower() and "widget-token" not in u for u in requests_seen)
    return card.inner_text()


QUESTION = "When was the senior engineer salary band raised?"


def test_widget_answers_one_collection_with_the_persons_groups(page: Page, portal: str
                                                               ) -> None:
    answer = ask_widget(page, portal + "/manager.html", QUESTION)
    assert "June 2, 2024" in answer
    src = page.locator("iframe[title='Ask HR']").get_attribute("src") or ""
    assert "collection=hr" in src and "eyJ" not in src  # the JWT never travels in a URL


def test_widget_without_a_token_sees_only_public_documents(page: Page, portal: str) -> None:
    answer = ask_widget(page, portal + "/visitor.html", QUESTION)
    assert "June 2, 2024" not in answer and "sources do not cover" in answer
    assert "April 9, 2024" in ask_widget(page, portal + "/visitor.html",
                                         "When did the canteen menu change?")


def test_documents_page_uploads_lists_and_deletes(page: Page, base: str, tmp_path: Path
                                                  ) -> None:
    response = page.goto(base + "/collections/hr/documents")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    page.get_by_label("Admin key").fill(ADMIN)
    page.get_by_role("button", name="Use key").click()
    rows = page.locator("#docs-body tr")
    expect(rows).to_have_count(3)
    assert page.evaluate("sessionStorage.getItem('citeqa-admin-key')") == ADMIN
    assert page.evaluate("localStorage.length") == 0 and ADMIN not in page.content()
    note = tmp_path / "parking.md"
    note.write_text("# Parking\n\nVisitor parking moved to level 3 on May 1, 2024.\n")
    page.get_by_label("Groups (comma-separated; empty: every reader)").fill("facilities")
    page.locator("#files").set_input_files(str(note))
    expect(rows).to_have_count(4)
    parking = rows.filter(has_text="Parking")
    expect(parking).to_contain_text("ready", timeout=120_000)
    expect(parking).to_contain_text("facilities")
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.items.add(new File([""], "empty.txt", {type: "text/plain"}));
        const drop = document.getElementById("drop");
        drop.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
    }""")
    expect(page.locator("#docs-status")).to_contain_text("empty.txt: the file is empty")
    page.once("dialog", lambda dialog: dialog.accept())  # deleting asks for confirmation
    parking.get_by_role("button", name="Delete Parking").click()
    expect(rows).to_have_count(3, timeout=120_000)


def test_source_pane_shows_the_documents_structure(page: Page, portal: str) -> None:
    """Headings and list items render as such, and the cited span is still marked exactly."""
    ask_widget(page, portal + "/visitor.html", "When does carry-over end?")
    frame = page.frame_locator("iframe[title='Ask HR']")
    card = frame.locator("article.msg.bot").last
    quoted = card.locator(".sources blockquote").first.inner_text()
    card.locator(".marker").first.click()
    pane = frame.locator("#source-text")
    expect(pane.locator("h3")).to_have_text("Leave policy")
    expect(pane.locator("h4")).to_have_text("Holidays")
    expect(pane.locator("ul > li")).to_have_count(2)
    mark = pane.locator("li mark")
    expect(mark).to_contain_text("March 31, 2025")
    assert quoted.endswith(mark.inner_text())  # the mark is the cited text (less "- ")
    assert "##" not in pane.inner_text() and "\n- " not in pane.inner_text()
