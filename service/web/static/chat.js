// citeqa chat: streams answers, turns [n] markers into source buttons, records feedback.
// Text reaches the page through textContent and DOM nodes; the only HTML it takes is the
// Markdown the server rendered and cleaned to an allow-list (service/web/markdown.py).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const MAX_HISTORY = 20;
  const tokenMeta = document.querySelector('meta[name="citeqa-token"]');
  let token = tokenMeta ? tokenMeta.content : "";
  // One collection's routes (?collection= on the page), else the default collection's.
  const collection = document.querySelector('meta[name="citeqa-collection"]')?.content || "";
  const api = collection ? `/api/v1/collections/${encodeURIComponent(collection)}` : "/api/v1";
  // The portal that framed /embed, the only window whose messages are read.
  const parentOrigin = document.querySelector('meta[name="citeqa-parent"]')?.content || "";
  let userToken = "";
  let history = [];
  let busy = false;
  let lastMarker = null;
  let retryLast = null;  // asks the last failed question again, once
  const embedded = Boolean(parentOrigin) && window.parent !== window;
  const documents = new Map();
  const t = window.citeqaText;
  const lang = document.documentElement.lang || "en";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const ICONS = {
    up: "M7 10v12M15 5.9 14 10h5.8a2 2 0 0 1 1.9 2.6l-2.3 7A2 2 0 0 1 17.5 21H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h2.8a2 2 0 0 0 1.8-1.1L12 2a3.1 3.1 0 0 1 3 3.9z",
    down: "M17 14V2M9 18.1 10 14H4.2a2 2 0 0 1-1.9-2.6l2.3-7A2 2 0 0 1 6.5 3H20a2 2 0 0 1 2 2v7a2 2 0 0 1-2 2h-2.8a2 2 0 0 0-1.8 1.1L12 22a3.1 3.1 0 0 1-3-3.9z",
    copy: "M10 8h10a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H10a2 2 0 0 1-2-2V10a2 2 0 0 1 2-2zM4 16a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h10a2 2 0 0 1 2 2",
  };

  // An inline SVG icon, built as DOM nodes (no markup strings, no external file).
  function icon(name) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    for (const [key, value] of Object.entries({ viewBox: "0 0 24 24", width: "18", height: "18",
      fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round",
      "stroke-linejoin": "round", "aria-hidden": "true", focusable: "false" })) {
      svg.setAttribute(key, value);
    }
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  function headers(extra) {
    const base = { "X-Citeqa-Token": token, "Accept-Language": lang };
    if (userToken) base["X-Citeqa-User"] = userToken;
    return Object.assign(base, extra || {});
  }

  // The portal hands over its signed-in person's token by postMessage, never in the URL;
  // the widget says when its panel opens, so the question box takes focus then, not on load.
  function listenToThePortal() {
    if (!embedded) return;
    window.addEventListener("message", (event) => {
      if (event.source !== window.parent || event.origin !== parentOrigin) return;
      const data = event.data || {};
      if (data.type === "citeqa:open") $("question").focus();
      if (data.type !== "citeqa:user-token" || typeof data.token !== "string") return;
      userToken = data.token;
      documents.clear();
      // with API keys set, a page gets its token only once the portal vouches for its reader
      (token ? Promise.resolve() : refreshToken()).then(() => {
        loadExamples();
        if (retryLast) retryLast();
      });
    });
    window.parent.postMessage({ type: "citeqa:ready" }, parentOrigin);
  }

  // Tell the portal its reader's token is missing, expired or refused: it should send a
  // fresh one (citeqaWidget.setUserToken), and the failed question is then asked again.
  function askForUserToken(failure) {
    if (!embedded || !["unauthorized", "invalid_user_token"].includes(failure.code)) return;
    const reason = !userToken ? "missing" : /expired/.test(failure.message) ? "expired" : "refused";
    window.parent.postMessage({ type: "citeqa:user-token-needed", reason }, parentOrigin);
  }

  function refreshToken() {
    return fetch("/widget-token", { method: "POST", headers: headers() })
      .then((r) => (r.ok ? r.json() : null))
      .then((body) => { if (body) token = body.token; })
      .catch(() => {});
  }

  function announce(text) {
    $("status").textContent = text;
  }

  // An error the service answered, with its stable code.
  class Failure extends Error {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  }

  async function failure(response) {
    try {
      const { error } = await response.json();
      return new Failure(error.message, error.code);
    } catch (_) {
      return new Failure(t("status", { status: response.status }), "");
    }
  }

  async function errorMessage(response) {
    return (await failure(response)).message;
  }

  // The nodes of HTML the server rendered from Markdown and cleaned (never run: DOMParser).
  function parsed(html) {
    return [...new DOMParser().parseFromString(html, "text/html").body.childNodes];
  }

  // Turn the [n] markers of a text node into buttons for the citations they name.
  function markerButtons(node, byId) {
    const parts = node.data.split(/(\[\d+\])/);
    if (parts.length === 1) return;
    node.replaceWith(...parts.map((part) => {
      const match = /^\[(\d+)\]$/.exec(part);
      const citation = match && byId.get(Number(match[1]));
      return citation ? el("button", {
        type: "button", class: "marker", text: part,
        "aria-label": t("marker", { id: citation.id, title: citation.title }),
        onclick: (event) => openSource(citation, event.currentTarget),
      }) : part;
    }));
  }

  // Show an answer (its rendered Markdown, else its text) with source buttons for its markers.
  function renderAnswer(container, result) {
    const shown = result.answer_html ? parsed(result.answer_html) : [result.answer];
    container.replaceChildren(...shown);
    const byId = new Map(result.citations.map((c) => [c.id, c]));
    const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) texts.push(walker.currentNode);
    for (const node of texts) if (!node.parentElement.closest("a")) markerButtons(node, byId);
  }

  function safeLink(url) {
    if (!url) return "";  // a document without a link: not this page's own address
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : "";
    } catch (_) {
      return "";
    }
  }

  function sourceList(citations) {
    const list = el("ol", { class: "sources", "aria-label": t("sources") });
    for (const c of citations) {
      const href = safeLink(c.url);
      const title = href
        ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: c.title || c.document_id })
        : el("span", { text: c.title || c.document_id });
      list.append(el("li", {},
        el("div", { class: "source-title" },
          el("span", { class: "num", text: String(c.id) }), title),
        el("blockquote", {}, ...(c.html ? parsed(c.html) : [c.text])),
        el("button", { type: "button", class: "link", text: t("show_in_document"),
          onclick: (event) => openSource(c, event.currentTarget) })));
    }
    return el("details", { class: "sources-box", open: "" },
      el("summary", { text: citations.length === 1 ? t("sources_one") : t("sources_many", { n: citations.length }) }),
      list);
  }

  async function loadDocument(id) {
    if (!documents.has(id)) {
      const response = await fetch(`${api}/documents/${encodeURIComponent(id)}`,
        { headers: headers() });
      if (!response.ok) throw new Error(await errorMessage(response));
      documents.set(id, await response.json());
    }
    return documents.get(id);
  }

  // Highlight text[start:end) of a document on its rendered Markdown: each text run of it is
  // a <span data-at="N"> holding text[N:N+length], so the range maps onto the runs exactly.
  function markRange(root, start, end) {
    const marks = [];
    for (const span of root.querySelectorAll("span[data-at]")) {
      const at = Number(span.dataset.at);
      const text = span.textContent;
      const from = Math.max(start, at) - at;
      const to = Math.min(end, at + text.length) - at;
      if (to <= from) continue;
      const mark = el("mark", { class: "cited", text: text.slice(from, to) });
      span.replaceChildren(text.slice(0, from), mark, text.slice(to));
      marks.push(mark);
    }
    return marks;
  }

  async function openSource(citation, trigger) {
    lastMarker = trigger;
    const pane = $("source");
    const body = $("source-text");
    $("source-title").textContent = citation.title || citation.document_id;
    const link = $("source-link");
    const href = safeLink(citation.url);
    link.hidden = !href;
    link.textContent = href ? new URL(href).hostname : "";
    if (href) link.href = href;
    body.replaceChildren(el("p", { class: "muted", text: t("loading_document") }));
    pane.hidden = false;
    document.body.classList.add("source-open");
    try {
      const doc = await loadDocument(citation.document_id);
      body.replaceChildren(...(doc.html ? parsed(doc.html) : [el("p", { text: doc.text })]));
      const marks = markRange(body, citation.start, citation.end);
      const mark = marks[0];
      if (mark) {
        Object.assign(mark, { id: "cited", tabIndex: -1 });
        mark.scrollIntoView({ block: "center" });
        mark.focus({ preventScroll: true });
      }
      announce(t("showing_source", { id: citation.id }));
    } catch (err) {
      body.replaceChildren(el("p", { class: "error", text: t("document_failed", { error: err.message }) }));
    }
  }

  function closeSource() {
    $("source").hidden = true;
    document.body.classList.remove("source-open");
    if (lastMarker && document.contains(lastMarker)) lastMarker.focus();
  }

  function feedbackBar(turn) {
    const status = el("span", { class: "muted small", role: "status" });
    const comment = el("textarea", { rows: "2", maxlength: "2000", "aria-label": t("comment"),
      placeholder: t("comment_placeholder") });
    const form = el("form", { class: "comment", hidden: "" }, comment,
      el("button", { type: "submit", class: "primary small", text: t("send_feedback") }));
    let rating = null;
    const thumbs = ["up", "down"].map((value) => el("button", {
      type: "button", class: "ghost icon thumb", "aria-pressed": "false", "data-rating": value,
      "aria-label": t(value === "up" ? "good_answer" : "bad_answer"),
      title: t(value === "up" ? "good_answer" : "bad_answer"),
      onclick: (event) => {
        rating = value;
        for (const b of thumbs) b.setAttribute("aria-pressed", String(b === event.currentTarget));
        form.hidden = false;
        comment.focus();
      },
    }, icon(value)));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const response = await fetch(`${api}/feedback`, {
        method: "POST", headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify({ question: turn.question, history: turn.history, answer: turn.result,
          rating, comment: comment.value }),
      });
      if (response.ok) {
        form.hidden = true;
        for (const b of thumbs) b.disabled = true;
        status.textContent = t("feedback_saved");
      } else {
        status.textContent = t("feedback_failed", { error: await errorMessage(response) });
      }
    });
    const copy = el("button", { type: "button", class: "ghost small with-icon",
      onclick: async () => {
        const sources = turn.result.citations.map((c) => `[${c.id}] ${c.title} — "${c.text}"`);
        try {
          await navigator.clipboard.writeText([turn.result.answer, ...sources].join("\n"));
          status.textContent = t("copied");
        } catch (_) {
          status.textContent = t("copy_blocked");
        }
      } }, icon("copy"), t("copy"));
    return el("div", { class: "actions" }, copy, ...thumbs, status, form);
  }

  // What the reader should know about how the answer was made: checked, or a fallback.
  function notes(result) {
    const found = [];
    const { removed = 0, recited = 0 } = result.verification || {};
    if (result.fallback) found.push(t("fallback"));
    else if (removed || recited) found.push(t("checked_changed", { removed, recited }));
    else if (result.backend !== "extractive" && !result.abstained) found.push(t("checked_clean"));
    return found;
  }

  function finish(card, answer, turn) {
    const result = turn.result;
    card.classList.remove("pending");
    card.removeAttribute("aria-busy");
    if (result.abstained) {
      card.classList.add("abstained");
      card.prepend(el("p", { class: "badge", text: t("not_in_sources") }));
      answer.textContent = result.answer;
      if (result.reason) card.append(el("p", { class: "reason", text: t("why", { reason: result.reason }) }));
    } else {
      card.classList.add("answered");
      renderAnswer(answer, result);
      answer.classList.add("rendered");
      if (result.citations.length) card.append(sourceList(result.citations));
    }
    for (const note of notes(result)) card.append(el("p", { class: "note", text: note }));
    card.append(feedbackBar(turn));
  }

  // Read a server-sent event stream, calling `on(event, data)` for each event.
  async function readEvents(response, on) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (data.length) on(name, JSON.parse(data.join("\n")));
      }
    }
  }

  async function ask(question) {
    if (busy || !question.trim()) return;
    busy = true;
    $("send").disabled = true;
    $("welcome").hidden = true;
    const log = $("log");
    log.append(el("div", { class: "msg user" }, el("p", { text: question })));
    const answer = el("div", { class: "answer" });
    const card = el("article", { class: "msg bot pending", "aria-busy": "true" },
      el("p", { class: "typing", "aria-hidden": "true", text: t("searching") }), answer);
    log.append(card);
    card.scrollIntoView({ block: "end", behavior: "smooth" });
    const turn = { question, history: history.slice(-MAX_HISTORY), result: null };
    try {
      const response = await fetch(`${api}/answer`, {
        method: "POST",
        headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
        body: JSON.stringify({ question, history: turn.history }),
      });
      if (!response.ok) throw await failure(response);
      await readEvents(response, (name, data) => {
        if (name === "delta") {
          card.querySelector(".typing")?.remove();
          answer.append(document.createTextNode(data.text));
        } else if (name === "done") {
          turn.result = data;
        } else if (name === "error") {
          throw new Failure(data.error.message, data.error.code);
        }
      });
      if (!turn.result) throw new Error(t("stream_ended"));
      card.querySelector(".typing")?.remove();
      finish(card, answer, turn);
      history.push({ role: "user", content: question }, { role: "assistant", content: turn.result.answer });
      announce(t(turn.result.abstained ? "not_covered" : "answer_ready"));
    } catch (err) {
      card.classList.remove("pending");
      card.classList.add("failed");
      card.removeAttribute("aria-busy");
      card.querySelector(".typing")?.remove();
      answer.textContent = t("no_answer", { error: err instanceof TypeError ? t("unreachable") : err.message });
      retryLast = () => { retryLast = null; card.remove(); ask(question); };
      card.append(el("button", { type: "button", class: "ghost small retry", text: t("retry"),
        onclick: () => { $("question").focus(); if (retryLast) retryLast(); } }));
      askForUserToken(err);
    } finally {
      busy = false;
      $("send").disabled = false;
      card.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  async function loadExamples() {
    try {
      const response = await fetch(`${api}/examples`, { headers: headers() });
      if (!response.ok) return;
      const { examples } = await response.json();
      const list = $("example-list");
      list.replaceChildren(...examples.map((q) => el("li", {},
        el("button", { type: "button", class: "example", text: q,
          onclick: () => { $("question").focus(); ask(q); } }))));
      $("examples").hidden = examples.length === 0;
    } catch (_) { /* examples are optional */ }
  }

  function newConversation() {
    history = [];
    $("log").replaceChildren();
    $("welcome").hidden = false;
    closeSource();
    $("question").value = "";
    $("question").focus();
    announce(t("new_conversation"));
  }

  function grow() {
    const box = $("question");
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight, 160)}px`;
  }

  // Apply a portal's brand colour, with text on it that stays readable.
  function useAccent(colour) {
    const hex = colour.length === 4 ? colour.replace(/[0-9a-f]/gi, "$&$&") : colour;
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const root = document.documentElement.style;
    root.setProperty("--accent", colour);
    root.setProperty("--accent-ink", luminance > 0.55 ? "#0c1220" : "#ffffff");
  }

  function start() {
    const box = $("question");
    $("ask").addEventListener("submit", (event) => {
      event.preventDefault();
      const question = box.value;
      box.value = "";
      grow();
      ask(question);
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("ask").requestSubmit();
      }
    });
    box.addEventListener("input", grow);
    $("new-chat").addEventListener("click", newConversation);
    $("source-close").addEventListener("click", closeSource);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !$("source").hidden) closeSource();
    });
    // the ✕ is there only when the widget's launcher framed the page: it alone can close it
    $("close-widget")?.addEventListener("click", () => {
      if (embedded) window.parent.postMessage("citeqa:close", parentOrigin);
    });
    const colour = new URLSearchParams(location.search).get("color");
    if (colour && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(colour)) useAccent(colour);
    const ttl = Number(tokenMeta?.dataset.ttl || 0);
    if (ttl > 60) setInterval(refreshToken, (ttl / 2) * 1000);
    listenToThePortal();
    loadExamples();
  }

  start();
})();
