"""The chat page and the widget in a real headless Chromium, against a real server.

The service runs in a thread (werkzeug, threaded) over the session's real index; portal pages
are served by plain http.server processes on 127.0.0.2 (allowed) and 127.0.0.3 (not allowed),
so the browser sees genuinely different origins.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from index.build import index_corpus
from index.store import StoreConfig
from service.web.app import create_app
from tests.support.cli import run_citeqa
from tests.support.paths import ROOT
from tests.support.screens import shoot
from tests.support.servers import free_port, serving_in_thread, wait_until

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 800}
DESKTOP = {"width": 1280, "height": 800}
HOSTILE = ("Harbour notes\n\nThe harbour gate opened on June 3, 2021 "
           "<img src=x onerror=\"window.__xss='img'\"> after repairs "
           "<script>window.__xss='script'</script> were finished.\n\n"
           "Boats must keep below five knots inside the breakwater.\n")

STRUCTURED = ("# Harbour rules\n\nVisitors are welcome in the harbour all year round.\n\n"
              "## Mooring\n\n- Visiting boats moor on the east pontoon of the harbour.\n"
              "- Fishing boats keep the west wall clear at all times.\n\n## Leaving\n\n"
              "1. Pay the mooring fee at the harbour office.\n"
              "2. Return the pontoon key to the harbour master.\n")


@pytest.fixture(scope="module")
def portal_ports() -> tuple[int, int]:
    """Reserve the ports of the allowed (127.0.0.2) and foreign (127.0.0.3) portals."""
    return free_port("127.0.0.2"), free_port("127.0.0.3")


def serve_app(overrides: dict[str, Any]) -> Iterator[str]:
    """Run the real app in a threaded werkzeug server; yield its base URL, then stop it."""
    app = create_app(overrides, load_sync=True)
    with serving_in_thread(make_server("127.0.0.1", 0, app, threaded=True)) as base:
        yield base


@pytest.fixture(scope="module")
def feedback_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return where this module's server stores feedback."""
    return tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"


@pytest.fixture(scope="module")
def base(default_index: StoreConfig, portal_ports: tuple[int, int],
         feedback_db: Path) -> Iterator[str]:
    """Serve the default corpus, allowing the portal on 127.0.0.2 only."""
    yield from serve_app({
        "data_dir": default_index.data_dir, "collection": default_index.collection,
        "corpus_dir": ROOT / "corpus", "feedback_db": feedback_db,
        "allowed_origins": (f"http://127.0.0.2:{portal_ports[0]}",)})


@pytest.fixture(scope="module")
def keyed_base(default_index: StoreConfig, portal_ports: tuple[int, int]) -> Iterator[str]:
    """Serve the default corpus with API keys required and the chat opened to the public
    (without that opt-in pages get no token: tests/test_page_tokens.py), allowing one portal."""
    yield from serve_app({
        "data_dir": default_index.data_dir, "collection": default_index.collection,
        "corpus_dir": ROOT / "corpus", "api_keys": "browser-test-key", "public_chat": True,
        "allowed_origins": (f"http://127.0.0.2:{portal_ports[0]}",)})


@pytest.fixture(scope="module")
def hostile_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve a one-document corpus whose text carries HTML that must stay inert."""
    corpus = tmp_path_factory.mktemp("hostile-corpus")
    (corpus / "harbour-notes.txt").write_text(HOSTILE)
    cfg = StoreConfig(tmp_path_factory.mktemp("hostile-index"), "hostile")
    index_corpus(corpus, cfg, progress=False)
    yield from serve_app({"data_dir": cfg.data_dir, "collection": cfg.collection,
                          "corpus_dir": corpus})


@pytest.fixture(scope="module")
def structured_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve a one-document corpus with headings, a bulleted and a numbered list."""
    corpus = tmp_path_factory.mktemp("structured-corpus")
    (corpus / "harbour-rules.md").write_text(STRUCTURED)
    cfg = StoreConfig(tmp_path_factory.mktemp("structured-index"), "structured")
    index_corpus(corpus, cfg, progress=False)
    yield from serve_app({"data_dir": cfg.data_dir, "collection": cfg.collection,
                          "corpus_dir": corpus})


def portal_page(base_url: str) -> str:
    """Return a portal page that pastes the widget snippet and tries the API and /embed."""
    return f"""<!doctype html><html><head><title>Portal</title></head>
<body style="margin:0;font:16px/1.5 system-ui,sans-serif;background:#eef1f5;color:#222">
<header style="background:#1f2937;color:#fff;padding:14px 28px;font-weight:600">Intranet</header>
<main style="max-width:720px;padding:24px 28px"><h1>Policy hub</h1>
<p>Guidance, forms and contacts for the team. Questions about the security and stability
programme? Ask the assistant in the corner: every answer links to its source.</p>
<p style="background:#fff;padding:16px;border-radius:8px">News: the travel policy was
updated this week.</p></main>
<script src="{base_url}/widget.js" data-title="Ask the policy" data-color="#0f766e" async></script>
</body></html>"""


def frame_page(base_url: str) -> str:
    """Return a page that frames /embed directly."""
    return f'<!doctype html><iframe id="f" src="{base_url}/embed" width="400" height="500">'


@pytest.fixture(scope="module")
def portal_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the folder both portal servers serve (tests may add pages to it)."""
    return tmp_path_factory.mktemp("portal")


@pytest.fixture(scope="module")
def portals(base: str, portal_ports: tuple[int, int],
            portal_site: Path) -> Iterator[tuple[str, str]]:
    """Serve the same portal pages from an allowed and a foreign origin (separate processes)."""
    site = portal_site
    (site / "index.html").write_text(portal_page(base))
    (site / "frame.html").write_text(frame_page(base))
    procs = [subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", host,
                               "--directory", str(site)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for host, port in (("127.0.0.2", portal_ports[0]), ("127.0.0.3", portal_ports[1]))]
    try:
        for host, port in (("127.0.0.2", portal_ports[0]), ("127.0.0.3", portal_ports[1])):
            wait_for_port(host, port)
        yield f"http://127.0.0.2:{portal_ports[0]}", f"http://127.0.0.3:{portal_ports[1]}"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def wait_for_port(host: str, port: int) -> None:
    """Wait until something listens on host:port."""
    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex((host, port)) == 0
    wait_until(listening, f"a listener on {host}:{port}", 10)



@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    """Open a fresh desktop page that records console errors."""
    context = browser.new_context(viewport=DESKTOP, color_scheme="light")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        context.close()


def ask(page: Page, question: str) -> Any:
    """Type a question, press Enter, and return the locator of the finished answer card."""
    cards = page.locator("article.msg.bot")
    card = cards.nth(cards.count())
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    expect(card).to_be_attached()
    expect(card).not_to_have_attribute("aria-busy", "true")
    return card


def test_chat_streams_an_answer_and_shows_the_cited_passage(page: Page, base: str) -> None:
    page.goto(base + "/")
    stream_events: list[str] = []
    page.on("response", lambda r: stream_events.append(r.headers.get("content-type", ""))
            if r.url.endswith("/api/v1/answer") else None)
    card = ask(page, "Until when did Canada extend Operation IMPACT?")
    assert any(t.startswith("text/event-stream") for t in stream_events)
    expect(card.locator(".answer")).to_contain_text("March 31, 2017")
    marker = card.get_by_role("button", name="Source 1: Promoting security and stability")
    expect(card.locator(".sources blockquote").first).to_contain_text("March 31, 2017")
    marker.click()
    mark = page.locator("#source-text mark")
    expect(mark).to_contain_text("until March 31, 2017")
    expect(mark).to_be_in_viewport()
    expect(page.locator("#source-title")).to_have_text("Promoting security and stability")
    page.keyboard.press("Escape")
    expect(page.locator("#source")).to_be_hidden()
    expect(marker).to_be_focused()


def test_follow_up_sends_history_and_new_conversation_clears_it(page: Page, base: str) -> None:
    page.goto(base + "/")
    ask(page, "When did Canada sign the agreement with Jordan?")
    with page.expect_request("**/api/v1/answer") as sent:
        card = ask(page, "What was it meant to do?")
    assert len(sent.value.post_data_json["history"]) == 2
    expect(card.locator(".answer")).to_contain_text("increase cooperation")
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("#log article")).to_have_count(0)
    card = ask(page, "What was it meant to do?")
    expect(card).to_have_class("msg bot abstained")


def test_abstention_looks_different_and_gives_the_reason(page: Page, base: str) -> None:
    page.goto(base + "/")
    card = ask(page, "What is the capital of Australia?")
    expect(card).to_have_class("msg bot abstained")
    expect(card.locator(".badge")).to_have_text("Not in the sources")
    expect(card.locator(".reason")).to_contain_text("Why:")
    expect(card.locator(".marker")).to_have_count(0)
    answered = ask(page, "What will Canada cease?")
    assert (card.evaluate("e => getComputedStyle(e).backgroundColor")
            != answered.evaluate("e => getComputedStyle(e).backgroundColor"))


def test_examples_come_from_the_backend_and_can_be_asked(page: Page, base: str) -> None:
    page.goto(base + "/")
    examples = page.locator("#example-list button")
    expect(examples).to_have_count(4)
    first = examples.first.inner_text()
    examples.first.click()
    expect(page.locator(".msg.user").last).to_have_text(first)
    expect(page.locator("article.msg.bot").last).to_have_class("msg bot answered")


def test_keyboard_shift_enter_adds_a_line_and_enter_sends(page: Page, base: str) -> None:
    page.goto(base + "/")
    box = page.get_by_label("Your question")
    box.focus()
    page.keyboard.type("What will Canada")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("cease?")
    assert box.input_value() == "What will Canada\ncease?"
    page.keyboard.press("Enter")
    card = page.locator("article.msg.bot").last
    expect(card).to_have_class("msg bot answered")
    assert page.locator("#log").get_attribute("aria-live") == "polite"
    expect(box).to_be_focused()
    marker = card.locator(".marker").first
    marker.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#source-text mark")).to_be_focused()
    page.keyboard.press("Escape")
    expect(marker).to_be_focused()


def test_tab_order_follows_the_page(page: Page, base: str) -> None:
    page.goto(base + "/")
    expect(page.locator("#example-list button")).to_have_count(4)
    order = []
    for _ in range(8):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || "
                                   "document.activeElement.className"))
    assert order == ["skip", "new-chat", "example", "example", "example", "example", "question",
                     "send"]


def test_copy_puts_the_answer_and_its_sources_on_the_clipboard(browser: Browser,
                                                               base: str) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(base + "/")
    card = ask(page, "What will Canada cease?")
    card.get_by_role("button", name="Copy").click()
    expect(card.get_by_role("status")).to_have_text("Answer copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "cease air strike operations" in copied and "continue [1]." in copied
    assert '[1] Promoting security and stability — "' in copied
    context.close()


def pane_marks(page: Page) -> str:
    """Return the source pane's highlighted text, its marks joined."""
    return str(page.evaluate("[...document.querySelectorAll('#source-text mark')]"
                             ".map(m => m.textContent).join('')"))


def test_source_pane_renders_the_documents_structure_and_the_exact_citation(
        page: Page, base: str) -> None:
    page.goto(base + "/")
    card = ask(page, "How much will Canada allocate towards its military efforts?")
    quoted = card.locator(".sources blockquote").first.text_content()
    card.locator(".marker").first.click()
    pane = page.locator("#source-text")
    expect(pane.locator("h3")).to_have_text(["Promoting security and stability"])
    expect(pane.locator("h4")).to_have_text(["Military efforts", "Non-military security efforts"])
    assert quoted and pane_marks(page) == quoted  # the citation's text, exactly
    expect(pane.locator("p", has=page.locator("mark"))).to_contain_text("$305.9 million")
    source = (ROOT / "corpus" / "promoting-security-and-stability.md").read_text()
    paragraphs = [b for b in re.split(r"\n\s*\n", source) if b.strip() and b[0] != "#"]
    expect(pane.locator("p")).to_have_count(len(paragraphs))
    shown = re.sub(r"\s", "", pane.text_content() or "")
    assert shown == re.sub(r"\s", "", re.sub(r"(?m)^#+ ", "", source))  # nothing lost, no "#"


def test_source_pane_renders_lists(page: Page, structured_base: str) -> None:
    page.goto(structured_base + "/")
    card = ask(page, "On which pontoon do visiting boats moor?")
    quoted = card.locator(".sources blockquote").first.text_content()
    card.locator(".marker").first.click()
    pane = page.locator("#source-text")
    expect(pane.locator("ul > li")).to_have_text([
        "Visiting boats moor on the east pontoon of the harbour.",
        "Fishing boats keep the west wall clear at all times."])
    expect(pane.locator("ol > li")).to_have_count(2)
    expect(pane.locator("ul > li mark")).to_have_text(
        "Visiting boats moor on the east pontoon of the harbour.")
    assert pane_marks(page) == quoted
    assert "- " not in (pane.text_content() or "")
    expect(page.locator("#source-link")).to_be_hidden()  # no URL: no link to the page itself
    expect(card.locator(".sources a")).to_have_count(0)


def test_answer_html_stays_inert(page: Page, hostile_base: str) -> None:
    page.goto(hostile_base + "/")
    card = ask(page, "When did the harbour gate open?")
    expect(card.locator(".answer")).to_contain_text("<img src=x onerror=")
    expect(card.locator(".answer")).to_contain_text("<script>")
    card.locator(".marker").first.click()
    expect(page.locator("#source-text mark")).to_contain_text("<script>")
    assert page.evaluate("window.__xss") is None
    assert page.locator("#log img, #log script, #source img, #source script").count() == 0


def test_feedback_round_trips_to_jsonl(page: Page, base: str, feedback_db: Path,
                                      tmp_path: Path) -> None:
    page.goto(base + "/")
    card = ask(page, "How much will Canada allocate towards its military efforts?")
    card.get_by_role("button", name="Bad answer").click()
    card.get_by_label("Comment (optional)").fill("should mention the redeployment money too")
    with page.expect_response("**/api/v1/feedback") as saved:
        card.get_by_role("button", name="Send feedback").click()
    assert saved.value.status == 200
    expect(card.get_by_role("status")).to_have_text("Thanks — your feedback was saved.")
    out = tmp_path / "cases.jsonl"
    exported = run_citeqa("feedback", "export", "--db", str(feedback_db), "--output", str(out))
    assert exported.returncode == 0, exported.stderr
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    case = next(c for c in cases if c["comment"] == "should mention the redeployment money too")
    assert case["rating"] == "down" and "$305.9 million" in case["answer"]
    assert case["question"] == "How much will Canada allocate towards its military efforts?"
    assert "$305.9 million" in case["citations"][0]["text"]


def open_widget(page: Page, portal: str, question: str = "") -> Any:
    """Open the portal page, click the launcher, ask `question` if any; return the frame."""
    page.goto(portal + "/index.html")
    page.get_by_role("button", name="Open Ask the policy").click()
    frame = page.frame_locator("iframe[title='Ask the policy']")
    if question:
        box = frame.get_by_label("Your question")
        box.fill(question)
        box.press("Enter")
        expect(frame.locator("article.msg.bot").last).to_have_class(re.compile("answered"))
    return frame


def test_widget_on_an_allowed_portal_opens_and_answers(page: Page, portals: tuple[str, str]
                                                       ) -> None:
    frame = open_widget(page, portals[0],
                        "When did Canada sign a memorandum of understanding with Jordan?")
    expect(frame.locator("#app-title")).to_have_text("Ask the policy")
    card = frame.locator("article.msg.bot").last
    expect(card.locator(".answer")).to_contain_text("May 5, 2016")
    card.locator(".marker").first.click()
    expect(frame.locator("#source-text mark")).to_contain_text("May 5, 2016")
    page.keyboard.press("Escape")
    frame.get_by_role("button", name="Close the chat").click()
    expect(page.locator("iframe[title='Ask the policy']")).to_be_hidden()


def cross_origin_answer(page: Page, base: str) -> Any:
    """From the current page, call the API cross-origin; return the JSON or the error."""
    return page.evaluate("""async (base) => {
        try {
            const r = await fetch(base + "/api/v1/answer", {method: "POST",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({question: "What will Canada cease?"})});
            return {status: r.status, body: await r.json()};
        } catch (err) { return {blocked: String(err)}; }
    }""", base)


def test_pages_and_widget_work_with_api_keys_without_holding_one(
        page: Page, keyed_base: str, portals: tuple[str, str], portal_site: Path) -> None:
    assert cross_origin_answer(page, keyed_base).get("blocked")  # about:blank is no portal
    page.goto(keyed_base + "/")
    assert "browser-test-key" not in page.content()
    expect(ask(page, "What will Canada cease?")).to_have_class("msg bot answered")
    (portal_site / "keyed.html").write_text(frame_page(keyed_base))
    page.goto(portals[0] + "/keyed.html")
    frame = page.frame_locator("#f")
    frame.get_by_label("Your question").fill("What will Canada cease?")
    frame.get_by_label("Your question").press("Enter")
    expect(frame.locator("article.msg.bot").last).to_have_class("msg bot answered")
    without_token = cross_origin_answer(page, keyed_base)
    assert without_token["status"] == 401
    assert without_token["body"]["error"]["code"] == "unauthorized"


def test_only_allowed_origins_frame_embed_or_call_the_api(page: Page, base: str,
                                                         portals: tuple[str, str]) -> None:
    allowed, foreign = portals
    page.goto(allowed + "/frame.html")
    expect(page.frame_locator("#f").locator("#question")).to_be_visible()
    result = cross_origin_answer(page, base)
    assert result["status"] == 200 and "air strike" in result["body"]["answer"]

    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text))
    page.goto(foreign + "/frame.html")
    page.wait_for_load_state("load")
    framed = page.frame_locator("#f").locator("#question")
    page.wait_for_timeout(500)
    assert framed.count() == 0
    assert any("frame-ancestors" in text for text in refused)
    assert "blocked" in cross_origin_answer(page, base)


def fits_width(page: Page) -> bool:
    """Tell whether the page needs no horizontal scrolling."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_pages_fit_desktop_and_phone(browser: Browser, base: str, portals: tuple[str, str],
                                     tmp_path: Path) -> None:
    for viewport, scheme, suffix in ((DESKTOP, "light", "desktop"), (PHONE, "dark", "phone")):
        context = browser.new_context(viewport=viewport, color_scheme=scheme)
        page = context.new_page()
        page.goto(base + "/")
        # each example is answered before it is shown: give a loaded machine time
        expect(page.locator("#example-list button")).to_have_count(4, timeout=20_000)
        if suffix == "desktop":
            shoot(page, "chat-empty-desktop.png", tmp_path)
        ask(page, "Until when did Canada extend Operation IMPACT?")
        ask(page, "How many Canadian soldiers were deployed to Iraq?")
        page.locator("article.msg.bot .marker").first.click()
        expect(page.locator("#source-text mark")).to_be_in_viewport()
        assert fits_width(page)
        if suffix == "phone":
            page.get_by_role("button", name="Close the source").click()
        shoot(page, f"chat-{suffix}.png", tmp_path)
        frame = open_widget(page, portals[0], "How much will Canada allocate towards its "
                            "military efforts?")
        assert fits_width(page)
        box = page.locator("iframe[title='Ask the policy']").bounding_box()
        assert box is not None
        if suffix == "phone":
            assert box["width"] == viewport["width"]
        expect(frame.locator(".sources blockquote").first).to_be_visible()
        shoot(page, f"widget-{suffix}.png", tmp_path)
        context.close()
