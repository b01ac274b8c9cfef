// citeqa owners' console: the admin key is checked when entered, then collections, documents,
// uploads, edits and site imports go through the API. Text reaches the page via textContent.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const t = window.citeqaText;
  const STORE = "citeqa-admin-key";
  const PENDING = ["queued", "indexing", "deleting"];
  let current = null;  // the collection shown
  let timer = null;
  let editing = false;  // a row's edit form is open: the live refresh waits for it

  function key() { return sessionStorage.getItem(STORE) || ""; }

  // Call the API with the admin key; resolve to the JSON body, or throw a plain message.
  async function call(path, options = {}) {
    const headers = { Authorization: `Bearer ${key()}`, "Accept-Language": document.documentElement.lang };
    if (options.json !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method: options.method || "GET", headers,
        body: options.json !== undefined ? JSON.stringify(options.json) : options.form });
    } catch (_) {
      throw new Error(t("unreachable"));
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error ? body.error.message : t("status_unknown", { status: response.status }));
    return body;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    node.append(...children.filter(Boolean));
    return node;
  }

  const docsApi = (name) => `/api/v1/collections/${encodeURIComponent(name)}/documents`;
  const groupsText = (groups) => (groups || []).join(", ");
  const lines = (text) => text.split("\n").map((line) => line.trim()).filter(Boolean);

  async function useKey(event) {
    event.preventDefault();
    sessionStorage.setItem(STORE, $("admin-key").value);
    $("admin-key").value = "";
    await signIn();
  }

  async function signIn() {
    if (!key()) return;
    try {
      await call("/api/v1/admin");
    } catch (err) {
      sessionStorage.removeItem(STORE);
      $("signed-in").hidden = true;
      $("key-error").textContent = t("key_refused", { error: err.message });
      $("admin-key").focus();
      return;
    }
    $("key-error").textContent = "";
    $("signed-in").hidden = false;
    await listCollections();
  }

  async function listCollections() {
    const { collections } = await call("/api/v1/collections");
    $("collections-body").replaceChildren(...collections.map((c) => el("tr", {},
      el("td", { text: c.name }),
      el("td", { text: c.title }),
      el("td", {}, el("div", { class: "actions" },
        el("button", { type: "button", class: "ghost small", text: t("open"),
          "aria-label": t("open_label", { name: c.name }), onclick: () => show(c) }),
        c.name === "default" ? null : el("button", { type: "button", class: "ghost small",
          text: t("delete"), "aria-label": t("delete_label", { title: c.name }),
          onclick: () => dropCollection(c) }))))));
    $("collections-status").textContent = t("collections_count", { n: collections.length });
    return collections;
  }

  async function create(event) {
    event.preventDefault();
    const name = $("new-name").value.trim();
    try {
      const made = await call("/api/v1/collections", { method: "POST", json: {
        name, title: $("new-title").value, description: $("new-description").value,
        groups: $("new-groups").value, examples: lines($("new-examples").value) } });
      event.target.reset();
      await listCollections();
      show(made);
    } catch (err) {
      $("collections-status").textContent = t("not_created", { error: err.message });
    }
  }

  async function dropCollection(c) {
    if (!window.confirm(t("confirm_collection", { name: c.name }))) return;
    try {
      await call(`/api/v1/collections/${encodeURIComponent(c.name)}`, { method: "DELETE" });
      if (current && current.name === c.name) { current = null; $("collection").hidden = true; }
      await listCollections();
      $("collections-status").textContent = t("collection_deleted", { name: c.name });
    } catch (err) {
      $("collections-status").textContent = t("not_deleted", { error: err.message });
    }
  }

  function show(c) {
    current = c;
    editing = false;
    $("collection").hidden = false;
    $("collection-title").textContent = c.title || c.name;
    $("collection-about").textContent = c.description || "";
    const chat = c.name === "default" ? "/" : `/?collection=${encodeURIComponent(c.name)}`;
    $("chat-link").href = chat;
    const attribute = c.name === "default" ? "" : ` data-collection="${c.name}"`;
    $("snippet").textContent = `<script src="${location.origin}/widget.js"${attribute} async></script>`;
    $("examples").value = (c.examples || []).join("\n");
    $("examples-status").textContent = "";
    $("chosen").replaceChildren();
    $("upload").hidden = true;
    $("collection-title").tabIndex = -1;
    $("collection-title").focus();
    refresh();
  }

  async function saveExamples(event) {
    event.preventDefault();
    try {
      current = await call(`/api/v1/collections/${encodeURIComponent(current.name)}`,
        { method: "PATCH", json: { examples: lines($("examples").value) } });
      $("examples").value = current.examples.join("\n");
      $("examples-status").textContent = t("examples_saved");
    } catch (err) {
      $("examples-status").textContent = t("examples_not_saved", { error: err.message });
    }
  }

  function statusCell(doc) {
    const cell = el("td", { class: `status-${doc.status}`, text: t(`status_${doc.status}`) });
    const why = el("span", { class: "reason", text: doc.reason || "" });
    // an import's report lists every skipped page: folded, so the table stays readable
    if (doc.reason && doc.id.startsWith("import:") && doc.status === "ready") {
      cell.append(el("details", {}, el("summary", { text: t("report") }), why));
    } else if (doc.reason) {
      cell.append(why);
    }
    return cell;
  }

  function editRow(doc, row) {
    clearTimeout(timer);
    editing = true;
    const title = el("input", { value: doc.title, "aria-label": t("title_of", { title: doc.title }) });
    const groups = el("input", { value: groupsText(doc.groups), "aria-label": t("groups_of", { title: doc.title }) });
    const save = el("button", { type: "button", class: "primary small", text: t("save"),
      onclick: async () => {
        try {
          await call(`${docsApi(current.name)}/${encodeURIComponent(doc.id)}`,
            { method: "PATCH", json: { title: title.value, groups: groups.value } });
          editing = false;
          refresh(t("saved", { title: title.value }));
        } catch (err) { say(t("not_saved", { error: err.message })); }
      } });
    row.replaceChildren(el("td", {}, title), statusCell(doc), el("td", {}, groups),
      el("td", {}, el("div", { class: "actions" }, save,
        el("button", { type: "button", class: "ghost small", text: t("cancel"), onclick: () => { editing = false; refresh(); } }))));
    title.focus();
  }

  function docRow(doc) {
    const row = el("tr", {});
    const busy = PENDING.includes(doc.status);
    const edit = el("button", { type: "button", class: "ghost small", text: t("edit"),
      "aria-label": t("edit_label", { title: doc.title }), onclick: () => editRow(doc, row) });
    const remove = el("button", { type: "button", class: "ghost small", text: t("delete"),
      "aria-label": t("delete_label", { title: doc.title }), onclick: () => removeDoc(doc) });
    edit.disabled = busy || doc.id.startsWith("import:");
    remove.disabled = doc.status === "deleting";
    row.append(el("td", { text: doc.title || doc.id }), statusCell(doc),
      el("td", { text: groupsText(doc.groups) || t("everyone") }),
      el("td", {}, el("div", { class: "actions" }, edit, remove)));
    return row;
  }

  function say(text) { $("docs-status").textContent = text; }

  async function refresh(note) {
    clearTimeout(timer);
    if (!current || editing) return;
    let documents;
    try {
      ({ documents } = await call(docsApi(current.name)));
    } catch (err) {
      say(t("list_failed", { error: err.message }));
      return;
    }
    if (editing) return;  // the form opened while the list was on its way
    $("docs-body").replaceChildren(...documents.map(docRow));
    const pending = documents.filter((d) => PENDING.includes(d.status)).length;
    const count = documents.length === 1 ? t("documents_one") : t("documents_many", { n: documents.length });
    const state = !documents.length ? t("no_documents") : pending ? t("pending_note", { count, n: pending }) : count;
    say(note ? `${note} · ${state}` : state);
    if (pending) timer = setTimeout(() => refresh(note), 1500);
  }

  function choose() {
    const proposed = groupsText(current.groups);
    $("chosen").replaceChildren(...[...$("files").files].map((file, i) => el("li", {},
      el("span", { text: file.name }),
      el("input", { id: `groups-${i}`, value: proposed, "aria-label": t("groups_of", { title: file.name }),
        placeholder: t("everyone") }))));
    $("upload").hidden = !$("files").files.length;
  }

  async function upload() {
    const notes = [];
    for (const [i, file] of [...$("files").files].entries()) {
      const form = new FormData();
      form.append("file", file);
      form.append("groups", $(`groups-${i}`).value);
      form.append("replace", "same-name");
      try {
        await call(docsApi(current.name), { method: "POST", form });
        notes.push(t("queued_file", { name: file.name }));
      } catch (err) {
        notes.push(`${file.name}: ${err.message}`);
      }
    }
    $("files").value = "";
    choose();
    refresh(notes.join(" · "));
  }

  async function removeDoc(doc) {
    if (!window.confirm(t("confirm_document", { title: doc.title || doc.id }))) return;
    try {
      await call(`${docsApi(current.name)}/${encodeURIComponent(doc.id)}`, { method: "DELETE" });
      refresh(t("deleting_doc", { title: doc.title || doc.id }));
    } catch (err) { say(t("not_deleted", { error: err.message })); }
  }

  async function importSite(event) {
    event.preventDefault();
    try {
      await call(`/api/v1/collections/${encodeURIComponent(current.name)}/import`, {
        method: "POST", json: { url: $("import-url").value,
          max_pages: Number($("import-pages").value) || undefined, groups: groupsText(current.groups) } });
      refresh(t("import_started", { url: $("import-url").value }));
    } catch (err) { say(t("import_failed", { error: err.message })); }
  }

  $("key-form").addEventListener("submit", useKey);
  $("create-form").addEventListener("submit", create);
  $("examples-form").addEventListener("submit", saveExamples);
  $("files").addEventListener("change", choose);
  $("upload").addEventListener("click", upload);
  $("import-form").addEventListener("submit", importSite);
  signIn();
})();
