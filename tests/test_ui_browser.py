"""The pages as readers and portals meet them, in a real headless Chromium: Markdown rendered and
inert, English and French, keyboard only, light and dark, desktop and phone, axe-core clean, and
a widget on another origin that explains every failure.

The service runs in threads over a one-document Markdown corpus; portal pages are served by
plain http.server processes on 127.0.0.2 (allowed) and 127.0.0.3 (not allowed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from index.build import index_corpus
from index.store import StoreConfig
from service.web.app import create_app
from tests.support import servers
from tests.support.screens import shoot

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
ADMIN = "ui-console-admin-key"
PHONE = {"width": 390, "height": 800}
DESKTOP = {"width": 1280, "height": 800}
SECRET = "ui-user-token-secret-0123456789abcdef"
GARDEN = """# Garden rules

Watering is allowed **only between 6 and 9 in the morning** during the drought.

See the [watering map](https://example.org/map) and the [hidden trick](javascript:window.__xss='md')
before you start <img src=x onerror="window.__xss='img'"> digging.

| Plot | Tap |
|---|---|
| North | Blue tap |
| South | Red tap |

Compost bins are emptied on the first Monday of each month.
"""


@pytest.fixture(scope="module")
def garden_index(tmp_path_factory: pytest.TempPathFactory) -> StoreConfig:
    """Index the one-document garden corpus."""
    corpus = tmp_path_factory.mktemp("garden-corpus")
    (corpus / "garden-rules.md").write_text(GARDEN)
    cfg = StoreConfig(tmp_path_factory.mktemp("garden-index"), "garden")
    index_corpus(corpus, cfg, progress=False)
    return cfg


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    """Reserve the ports of the allowed (127.0.0.2) and foreign (127.0.0.3) portals."""
    return servers.free_port("127.0.0.2"), servers.free_port("127.0.0.3")


def serve(cfg: StoreConfig, port: int, **overrides: Any) -> Iterator[str]:
    """Serve the app over `cfg`, allowing the portal on 127.0.0.2; yield its base URL."""
    app = create_app({"data_dir": cfg.data_dir, "collection": cfg.collection,
                      "allowed_origins": (f"http://127.0.0.2:{port}",), **overrides},
                     load_sync=True)
    with servers.serving_in_thread(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url


@pytest.fixture(scope="module")
def base(garden_index: StoreConfig, ports: tuple[int, int]) -> Iterator[str]:
    """Serve the garden corpus to everyone, with example questions."""
    yield from serve(garden_index, ports[0], examples=(
        "When are the compost bins emptied?", "Is watering allowed during the drought?"))


@pytest.fixture(scope="module")
def keyed(garden_index: StoreConfig, ports: tuple[int, int]) -> Iterator[str]:
    """Serve the garden corpus only to callers with a key or a portal's user token."""
    yield from serve(garden_index, ports[0], api_keys="ui-test-key", user_token_secret=SECRET)


def widget_page(url: str, attributes: str) -> str:
    """Return a portal page that pastes the widget and records the events it raises."""
    return ('<!doctype html><html lang="en"><head><title>Portal</title></head><body>'
            '<h1>Allotments</h1><input id="search" aria-label="Search" autofocus>'
            '<script>window.needed = [];window.addEventListener("citeqa:user-token-needed",'
            ' (e) => window.needed.push(e.detail.reason));</script>'
            f'<script src="{url}/widget.js" {attributes} async></script></body></html>')


@pytest.fixture(scope="module")
def portals(base: str, keyed: str, ports: tuple[int, int],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Serve the portal pages from an allowed and a foreign origin (separate processes)."""
    site = tmp_path_factory.mktemp("ui-portal")
    expired = jwt.encode({"groups": [], "exp": int(time.time()) - 3600}, SECRET, "HS256")
    pages = {
        "misspelt.html": widget_page(base, 'data-collection="Garden" data-lang="fr" '
                                           'data-theme="dark"'),
        "plain.html": widget_page(base, 'data-title="Ask the garden"'),
        "expired.html": widget_page(keyed, f'data-title="Ask the garden" '
                                           f'data-user-token="{expired}"'),
        "framed.html": f'<!doctype html><iframe title="chat" src="{base}/embed"></iframe>',
    }
    for name, html in pages.items():
        (site / name).write_text(html)
    procs = [subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", host,
                               "--directory", str(site)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for host, port in (("127.0.0.2", ports[0]), ("127.0.0.3", ports[1]))]
    urls = (f"http://127.0.0.2:{ports[0]}", f"http://127.0.0.3:{ports[1]}")
    try:
        for url, proc in zip(urls, procs, strict=True):
            servers.wait_until(lambda u=url: requests.get(u + "/plain.html", timeout=2).ok,
                               "portal", 30, proc)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture()
def open_page(browser: Browser) -> Iterator[Any]:
    """Return a function that opens a page at a size, colour scheme and language."""
    contexts = []

    def opened(viewport: dict[str, int] = DESKTOP, scheme: str = "light",
               locale: str = "en-GB") -> Page:
        context = browser.new_context(viewport=viewport, color_scheme=scheme,  # type: ignore[arg-type]
                                      locale=locale, bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield opened
    for context in contexts:
        context.close()


def ask(page: Page, question: str) -> Any:
    """Ask by keyboard; return the newest card once the live region has announced it."""
    status = page.locator("#status")
    status.evaluate("node => { node.textContent = ''; }")
    page.locator("#question").fill(question)
    page.keyboard.press("Enter")
    expect(status).not_to_have_text("")  # what a screen reader hears when the answer is done
    return page.locator("article.msg.bot").last


def serious_violations(page: Page) -> list[str]:
    """Run axe-core on the page; return its serious and critical violations."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document).then(r => r.violations.filter("
                          "v => ['serious', 'critical'].includes(v.impact)).map("
                          "v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))")
    return list(found)


def fits(page: Page) -> bool:
    """Tell whether the page fits its width (no sideways scrolling)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_markdown_is_rendered_and_inert_with_the_cited_span_exact(open_page: Any,
                                                                  base: str) -> None:
    """Bold, links and tables render in the answer, the quote and the pane; nothing runs."""
    page = open_page()
    page.goto(base + "/")
    card = ask(page, "Is watering allowed during the drought?")
    expect(card.locator(".answer strong")).to_have_text("only between 6 and 9 in the morning")
    expect(card.locator(".answer")).not_to_contain_text("**")
    quote = card.locator(".sources blockquote").first
    expect(quote.locator("strong")).to_have_count(1)
    card.locator(".marker").first.click()
    pane = page.locator("#source-text")
    expect(pane.locator("h3")).to_have_text("Garden rules")
    expect(pane.locator("table td")).to_have_text(["North", "Blue tap", "South", "Red tap"])
    expect(pane.locator("a[href='https://example.org/map']")).to_have_text("watering map")
    assert pane.locator("a").count() == 1  # the javascript: link stays text
    expect(pane).to_contain_text("<img src=x onerror=")
    marks = page.evaluate("[...document.querySelectorAll('#source-text mark')]"
                          ".map(m => m.textContent).join('')")
    assert marks == quote.text_content() == "Watering is allowed only between 6 and 9 in the " \
                                            "morning during the drought."
    pane.get_by_text("hidden trick").click()
    assert page.evaluate("window.__xss") is None
    assert page.locator("#log img, #source img, #log script, #source script").count() == 0


def test_chat_in_french_by_keyboard_on_a_dark_phone(open_page: Any, base: str) -> None:
    """Accept-Language picks French; an example chosen by keyboard keeps focus in the box."""
    page = open_page(PHONE, "dark", "fr-CA")
    page.goto(base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#welcome-title")).to_have_text("Posez une question sur les documents")
    example = page.locator("#example-list button").first
    expect(example).to_be_visible()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('example')"):
            break
    page.keyboard.press("Enter")
    expect(page.locator("#question")).to_be_focused()
    expect(page.locator("article.msg.bot").first).not_to_have_attribute("aria-busy", "true")
    refused = ask(page, "Who painted the garden shed?")
    expect(refused.locator(".badge")).to_have_text("Absent des sources")
    expect(refused.locator(".answer")).to_have_text("Les sources ne couvrent pas cette question.")
    expect(refused.locator(".reason")).to_contain_text("Pourquoi :")
    assert fits(page)
    assert serious_violations(page) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_fit_and_pass_axe_on_desktop_and_phone(open_page: Any, base: str,
                                                     scheme: str) -> None:
    """The chat, the documents page and the not-available page, at both widths."""
    for viewport in (DESKTOP, PHONE):
        page = open_page(viewport, scheme)
        for path in ("/", "/collections/default/documents", "/embed?collection=nope&theme="
                     + scheme):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            assert fits(page), (path, viewport)
            assert serious_violations(page) == [], (path, viewport)


def test_widget_on_another_origin_explains_each_failure(open_page: Any, base: str,
                                                        portals: tuple[str, str]) -> None:
    """A misspelt collection, a refused origin and a down service each read as a sentence."""
    allowed, foreign = portals
    page = open_page()
    page.goto(allowed + "/misspelt.html")
    launcher = page.get_by_role("button", name="Ouvrir Interroger les documents")
    expect(launcher).to_be_visible()
    expect(page.locator("#search")).to_be_focused()  # the widget takes no focus on load
    launcher.click()
    frame = page.frame_locator("iframe")
    expect(frame.locator("h2")).to_have_text("Cette base de connaissances n’est pas disponible")
    expect(frame.locator("main")).to_contain_text("« Garden »")
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    assert frame.locator("#question").count() == 0  # nothing answers from another collection

    page.goto(foreign + "/plain.html")
    page.get_by_role("button", name="Open Ask the garden").click()
    expect(page.get_by_role("alert")).to_contain_text(f"does not allow {foreign}")

    down = f"{base}/{{embed,healthz}}*"  # the service goes down once widget.js is in
    page.route(down, lambda route: route.abort())
    page.goto(allowed + "/plain.html")
    page.get_by_role("button", name="Open Ask the garden").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot be reached")
    page.unroute(down)
    page.get_by_role("button", name="Try again").click()
    expect(page.frame_locator("iframe").locator("#close-widget")).to_be_visible()
    expect(page.frame_locator("iframe").locator("#question")).to_be_focused()

    page.goto(allowed + "/framed.html")  # a plain iframe: nothing could close it, so no ✕
    expect(page.frame_locator("iframe").locator("#question")).to_be_visible()
    assert page.frame_locator("iframe").locator("#close-widget").count() == 0


def test_widget_asks_the_portal_for_a_fresh_user_token(open_page: Any, keyed: str,
                                                       portals: tuple[str, str]) -> None:
    """An expired token raises citeqa:user-token-needed; a fresh one answers the question."""
    page = open_page()
    page.goto(portals[0] + "/expired.html")
    page.get_by_role("button", name="Open Ask the garden").click()
    frame = page.frame_locator("iframe")
    box = frame.locator("#question")
    expect(box).to_be_focused()
    box.fill("Is watering allowed during the drought?")
    box.press("Enter")
    expect(frame.locator("article.msg.failed")).to_be_visible()
    page.wait_for_function("window.needed.length > 0")
    assert page.evaluate("window.needed") == ["expired"]
    fresh = jwt.encode({"groups": [], "exp": int(time.time()) + 600}, SECRET, "HS256")
    page.evaluate(f"window.citeqaWidget.setUserToken({json.dumps(fresh)})")
    expect(frame.locator("article.msg.answered .answer")).to_contain_text("only between 6 and 9")
    expect(frame.locator("article.msg.failed")).to_have_count(0)


class ScriptedLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose answer has a supported and an unsupported sentence."""

    reply = ("Watering is allowed only between 6 and 9 in the morning during the drought [1]. "
             "The garden gnomes hold a vote every Tuesday [1].")

    def do_POST(self) -> None:
        """Answer a chat completion, streamed as server-sent events when asked to."""
        asked = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        head = {"id": "c1", "created": 0, "model": "scripted"}
        self.send_response(200)
        if asked.get("stream"):
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for delta, end in (({"role": "assistant", "content": self.reply}, None), ({}, "stop")):
                chunk = {**head, "object": "chat.completion.chunk", "choices": [
                    {"index": 0, "delta": delta, "finish_reason": end}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({**head, "object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": self.reply},
             "finish_reason": "stop"}]}).encode())

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


def test_chat_says_an_answer_was_checked_then_that_the_fallback_answered(
        open_page: Any, garden_index: StoreConfig, ports: tuple[int, int]) -> None:
    """The model's unsupported sentence is removed and counted; with the model gone, the
    offline method answers and the chat says so."""
    llm = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedLLM)
    llm.daemon_threads = True
    with servers.serving_in_thread(llm, "/v1") as llm_url, contextmanager(serve)(
            garden_index, ports[0], backend="openai", llm_base_url=llm_url,
            llm_model="scripted", llm_retries=0, llm_timeout=10.0) as url:
        page = open_page()
        page.goto(url + "/")
        card = ask(page, "Is watering allowed during the drought?")
        expect(card.locator(".answer")).to_contain_text("only between 6 and 9")
        expect(card.locator(".answer")).not_to_contain_text("gnomes")
        expect(card.locator(".note")).to_have_text(
            "Checked against the sources: sentences removed for lack of support: 1; "
            "citations corrected: 0.")
        llm.shutdown()
        llm.server_close()  # the model's server is gone: connections are refused
        card = ask(page, "When are the compost bins emptied?")
        expect(card.locator(".answer")).to_contain_text("first Monday of each month")
        expect(card.locator(".note")).to_contain_text("the offline method answered")


@pytest.fixture(scope="module")
def managed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve an empty store that admins manage from the console."""
    data = tmp_path_factory.mktemp("console-data")
    local = "127.0.0.0/8"  # the site to import is served on this machine
    app = create_app({"data_dir": data, "admin_keys": ADMIN, "index_check_seconds": 0.1,
                      "import_allow": local})
    worker = servers.settings_env({"data_dir": data, "import_delay": 0.0, "import_allow": local})
    with servers.ingest_worker(worker), \
            servers.serving_in_thread(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url


@pytest.fixture(scope="module")
def allotment_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve a two-page site to import, with a page that has no text to index."""
    root = tmp_path_factory.mktemp("allotment-site")
    (root / "index.html").write_text(
        "<html><head><title>Allotments</title></head><body><main><h1>Allotments</h1>"
        "<p>Plots are let for one year from March 1 and renewed by the end of January.</p>"
        '<a href="empty.html">Empty</a></main></body></html>')
    (root / "empty.html").write_text("<html><head><title>Empty</title></head><body></body></html>")
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(SimpleHTTPRequestHandler, directory=str(root)))
    with servers.serving_in_thread(server) as url:
        yield url


def test_owner_console_without_a_shell(open_page: Any, managed: str, allotment_site: str,
                                       tmp_path: Path) -> None:
    """Refuse a wrong key; create, upload with groups per file, replace, edit, import, delete."""
    page = open_page()
    page.goto(managed + "/console")
    key = page.get_by_label("Admin key")
    key.fill("not-the-key")
    key.press("Enter")
    expect(page.locator("#key-error")).to_contain_text("This key was refused")
    expect(page.locator("#signed-in")).to_be_hidden()
    key.fill(ADMIN)
    key.press("Enter")
    expect(page.locator("#collections-body")).to_contain_text("default")
    page.get_by_text("New knowledge base").click()
    page.get_by_label("Name (lower case").fill("allotments")
    page.get_by_label("Title", exact=True).fill("Allotment handbook")
    page.get_by_label("Description").fill("Rules of the town's allotments")
    page.get_by_label("Groups proposed").fill("gardeners")
    page.locator("#new-examples").fill("What colour are the sheds?\n\n")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#collection-title")).to_have_text("Allotment handbook")
    expect(page.locator("#examples")).to_have_value("What colour are the sheds?")
    expect(page.locator("#snippet")).to_contain_text('data-collection="allotments"')
    files = [{"name": n, "mimeType": "text/markdown", "buffer": t.encode()} for n, t in (
        ("water.md", "# Water\n\nTaps run **from May to September**.\n"),
        ("sheds.md", "# Sheds\n\nSheds are painted green.\n"))]
    page.locator("#files").set_input_files(files)  # type: ignore[arg-type]
    expect(page.get_by_label("Groups of water.md")).to_have_value("gardeners")
    page.get_by_label("Groups of sheds.md").fill("")
    page.get_by_role("button", name="Upload").click()
    rows = page.locator("#docs-body tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#docs-body .status-ready")).to_have_count(2, timeout=120_000)
    expect(rows.filter(has_text="water")).to_contain_text("gardeners")
    expect(rows.filter(has_text="sheds")).to_contain_text("everyone")
    shoot(page, "console-collection.png", tmp_path, full_page=True)

    # the chat shows only the examples it answers for its reader: not water.md's (gardeners)
    page.locator("#examples").fill("When do the taps run?\nWhat colour are the sheds?\n"
                                   "What colour is the moon at midnight?")
    page.get_by_role("button", name="Save examples").click()
    expect(page.locator("#examples-status")).to_have_text("Examples saved")
    chat = open_page()
    chat.goto(managed + "/?collection=allotments")
    expect(chat.locator("#example-list li")).to_have_text(["What colour are the sheds?"])
    expect(chat.locator("h1")).to_contain_text("Allotment handbook")

    page.locator("#files").set_input_files([{**files[1], "buffer": b"# Sheds\n\nBlue now.\n"}])
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#docs-body .status-ready")).to_have_count(2, timeout=120_000)
    expect(rows).to_have_count(2)  # replaced, not doubled

    page.get_by_role("button", name="Edit water").click()
    page.get_by_label("Title of water").fill("Watering")
    page.get_by_label("Groups of water").fill("gardeners, staff")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(rows.filter(has_text="Watering")).to_contain_text("gardeners, staff", timeout=120_000)
    expect(page.locator("#docs-body .status-ready")).to_have_count(2, timeout=120_000)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete sheds").click()
    expect(rows).to_have_count(1, timeout=120_000)

    page.get_by_label("Start page").fill(allotment_site + "/index.html")
    page.get_by_role("button", name="Import", exact=True).click()
    imported = rows.filter(has_text="Import of")
    expect(imported.locator(".status-ready")).to_be_visible(timeout=120_000)
    expect(imported.locator(".reason")).to_contain_text("fetched 2 pages")
    expect(imported.locator(".reason")).to_contain_text("empty.html: no main text")
    assert serious_violations(page) == []

    phone = open_page(PHONE, "dark", "fr-FR")
    phone.goto(managed + "/console")
    expect(phone.locator("html")).to_have_attribute("lang", "fr")
    phone.get_by_label("Clé d’administration").fill(ADMIN)
    phone.get_by_label("Clé d’administration").press("Enter")
    phone.get_by_role("button", name="Ouvrir allotments").click()
    expect(phone.locator("#docs-body tr", has_text="Watering")).to_contain_text("prêt")
    assert fits(phone)
    assert serious_violations(phone) == []
    shoot(phone, "console-phone-dark.png", tmp_path, full_page=True)
