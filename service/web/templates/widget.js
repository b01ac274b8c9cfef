// citeqa widget: paste <script src="https://HOST/widget.js" async></script> into a page.
// Optional attributes: data-title="Ask the handbook", data-color="#2458d3",
// data-position="left" (default right), data-collection="hr" (one knowledge base),
// data-lang="fr" (default: the page's lang, else the browser's; English or French),
// data-theme="light|dark|auto" (default auto: the system's), and
// data-user-token="<JWT>" (the signed-in person's groups, signed by the portal's backend).
// It adds a launcher that opens HOST/embed in an iframe. When the reader's token is missing,
// expired or refused, the page gets a `citeqa:user-token-needed` event (detail.reason:
// "missing", "expired" or "refused"); it answers with window.citeqaWidget.setUserToken(jwt),
// and the failed question is asked again. The token reaches the iframe by postMessage, never
// in a URL. When the frame cannot show the chat (this origin is not allowed, the service is
// down) the panel says so in words.
"use strict";

(() => {
  const script = document.currentScript;
  if (!script || window.__citeqaWidget) return;
  window.__citeqaWidget = true;
  const host = new URL(script.src, location.href).origin;
  const STRINGS = {{ strings|tojson }};  // by language, from the service's catalogs
  const lang = [script.dataset.lang, document.documentElement.lang, navigator.language]
    .map((tag) => (tag || "").slice(0, 2).toLowerCase()).find((tag) => tag in STRINGS) || "en";
  const t = (key, values) => STRINGS[lang][key].replace(/\{(\w+)\}/g, (all, name) =>
    (values && name in values ? String(values[name]) : all));
  const title = script.dataset.title || t("title");
  const colour = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(script.dataset.color || "") ? script.dataset.color : "#2458d3";
  const side = script.dataset.position === "left" ? "left" : "right";
  // the service alone decides whether a collection name exists: no second rule here
  const collection = script.dataset.collection || "";
  const theme = ["light", "dark"].includes(script.dataset.theme) ? script.dataset.theme : "";
  const dark = theme === "dark"
    || (!theme && window.matchMedia("(prefers-color-scheme: dark)").matches);
  let userToken = script.dataset.userToken || "";

  // Styles go through the CSSOM so that pages with a strict CSP can host the widget.
  function style(node, rules) {
    for (const [key, value] of Object.entries(rules)) node.style.setProperty(key, value);
    return node;
  }

  const CHAT = "M21 11.5a8.4 8.4 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.4 8.4 0 0 1-3.8-.9L3 21l1.9-5.7a8.4 8.4 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.4 8.4 0 0 1 3.8-.9h.5a8.5 8.5 0 0 1 8 8z";
  const CLOSE = "M18 6 6 18M6 6l12 12";

  // A 26px stroke icon, built as DOM nodes.
  function glyph(d) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    const attrs = { viewBox: "0 0 24 24", width: "26", height: "26", fill: "none",
      stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", "aria-hidden": "true" };
    for (const [key, value] of Object.entries(attrs)) svg.setAttribute(key, value);
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
    return svg;
  }

  const launcher = style(document.createElement("button"), {
    position: "fixed", bottom: "20px", [side]: "20px", "z-index": "2147483000",
    width: "56px", height: "56px", "border-radius": "50%", border: "0", cursor: "pointer",
    background: colour, color: "#fff", "box-shadow": "0 6px 20px rgba(0,0,0,.25)",
    font: "600 26px/1 system-ui, sans-serif", display: "grid", "place-items": "center",
  });
  launcher.type = "button";
  launcher.className = "citeqa-launcher";
  launcher.setAttribute("aria-label", t("open", { title }));
  launcher.setAttribute("aria-expanded", "false");
  launcher.append(glyph(CHAT));

  const panel = style(document.createElement("div"), {
    position: "fixed", bottom: "88px", [side]: "20px", "z-index": "2147483000",
    width: "min(400px, calc(100vw - 24px))", height: "min(620px, calc(100vh - 110px))",
    "border-radius": "16px", overflow: "hidden", "box-shadow": "0 12px 40px rgba(0,0,0,.3)",
    display: "none", background: dark ? "#171c25" : "#fff",
  });
  panel.className = "citeqa-panel";

  // Where the panel says in words why the chat cannot show (the frame alone would be blank).
  const problem = style(document.createElement("div"), {
    display: "none", padding: "24px", font: "16px/1.5 system-ui, sans-serif",
    color: dark ? "#e6e9ef" : "#1c2330",
  });
  problem.setAttribute("role", "alert");
  const problemText = document.createElement("p");
  const retry = style(document.createElement("button"), {
    font: "inherit", padding: "6px 14px", "border-radius": "8px", cursor: "pointer",
    border: `1px solid ${colour}`, background: "transparent", color: "inherit",
  });
  retry.type = "button";
  retry.textContent = t("retry");
  problem.append(problemText, retry);

  const frame = style(document.createElement("iframe"), {
    width: "100%", height: "100%", border: "0", display: "block",
  });
  frame.title = title;
  frame.setAttribute("allow", "clipboard-write");

  function fit() {
    const phone = window.innerWidth < 520;
    style(panel, phone
      ? { inset: "0", width: "100vw", height: "100%", bottom: "0", [side]: "0", "border-radius": "0" }
      : { inset: "auto", bottom: "88px", [side]: "20px", width: "min(400px, calc(100vw - 24px))",
          height: "min(620px, calc(100vh - 110px))", "border-radius": "16px" });
    style(launcher, { display: phone && open ? "none" : "grid" });
  }

  let open = false;
  let ready = false;  // the chat in the frame said it loaded
  let attempt = 0;  // which load of the frame a check belongs to (a retry starts another)

  function load() {
    ready = false;
    attempt += 1;
    const params = new URLSearchParams({ title, color: colour, lang, launcher: "1" });
    if (collection) params.set("collection", collection);
    if (theme) params.set("theme", theme);
    style(problem, { display: "none" });
    style(frame, { display: "block" });
    frame.src = `${host}/embed?${params}`;
  }

  // A frame that loaded without the chat saying so was refused or never reached the service.
  async function diagnose(mine) {
    if (ready || mine !== attempt) return;
    let reachable = true;
    try { await fetch(`${host}/healthz`, { mode: "no-cors", cache: "no-store" }); } catch (_) { reachable = false; }
    if (ready || mine !== attempt) return;
    problemText.textContent = reachable ? t("refused", { origin: location.origin }) : t("down");
    style(frame, { display: "none" });
    style(problem, { display: "block" });
  }

  function toggle(show) {
    open = show;
    if (open && !frame.src) load();
    style(panel, { display: open ? "block" : "none" });
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", t(open ? "close" : "open", { title }));
    launcher.replaceChildren(glyph(open ? CLOSE : CHAT));
    fit();
    if (open) {
      frame.focus();
      if (ready) frame.contentWindow.postMessage({ type: "citeqa:open" }, host);
    }
  }

  launcher.addEventListener("click", () => toggle(!open));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && open) { toggle(false); launcher.focus(); }
  });
  function sendUserToken() {
    if (userToken && frame.contentWindow) {
      frame.contentWindow.postMessage({ type: "citeqa:user-token", token: userToken }, host);
    }
  }
  window.citeqaWidget = { setUserToken(value) { userToken = String(value || ""); sendUserToken(); } };
  window.addEventListener("message", (event) => {
    if (event.origin !== host || event.source !== frame.contentWindow) return;
    const data = event.data || {};
    if (data === "citeqa:close") { toggle(false); launcher.focus(); }
    if (data.type === "citeqa:ready") {
      ready = true;
      sendUserToken();
      if (open) frame.contentWindow.postMessage({ type: "citeqa:open" }, host);
    }
    if (data.type === "citeqa:user-token-needed") {
      window.dispatchEvent(new CustomEvent("citeqa:user-token-needed",
        { detail: { reason: String(data.reason || "missing") } }));
    }
  });
  frame.addEventListener("load", () => {
    const mine = attempt;
    setTimeout(() => diagnose(mine), 1500);
  });
  retry.addEventListener("click", load);
  window.addEventListener("resize", fit);
  panel.append(frame, problem);
  document.body.append(panel, launcher);
})();
