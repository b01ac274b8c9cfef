// citeqa documents page: upload (drag and drop), list with status, delete — with an admin key
// kept in sessionStorage only. Text reaches the page through textContent, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const collection = document.querySelector('meta[name="citeqa-collection"]').content;
  const api = `/api/v1/collections/${encodeURIComponent(collection)}/documents`;
  const STORE = "citeqa-admin-key";
  let timer = null;
  const t = window.citeqaText;

  function key() { return sessionStorage.getItem(STORE) || ""; }
  function headers() {
    return { Authorization: `Bearer ${key()}`, "Accept-Language": document.documentElement.lang };
  }
  function say(text) { $("docs-status").textContent = text; }

  async function problem(response) {
    try { return (await response.json()).error.message; } catch (_) { return t("status_unknown", { status: response.status }); }
  }

  function row(doc) {
    const tr = document.createElement("tr");
    const title = document.createElement("td");
    title.textContent = doc.title || doc.id;
    const status = document.createElement("td");
    status.className = `status-${doc.status}`;
    status.textContent = t(`status_${doc.status}`);
    if (doc.reason) {
      const why = document.createElement("span");
      why.className = "reason";
      why.textContent = doc.reason;
      status.append(why);
    }
    const groups = document.createElement("td");
    groups.textContent = (doc.groups || []).join(", ") || t("everyone");
    const actions = document.createElement("td");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "ghost small";
    remove.textContent = t("delete");
    remove.setAttribute("aria-label", t("delete_label", { title: doc.title || doc.id }));
    remove.disabled = doc.status === "deleting";
    remove.addEventListener("click", () => removeDoc(doc));
    actions.append(remove);
    tr.append(title, status, groups, actions);
    return tr;
  }

  async function refresh(note) {
    clearTimeout(timer);
    if (!key()) { say(t("need_key")); return; }
    const response = await fetch(api, { headers: headers() });
    if (!response.ok) { say(t("list_failed", { error: await problem(response) })); return; }
    const { documents } = await response.json();
    $("docs-body").replaceChildren(...documents.map(row));
    const pending = documents.some((d) => ["queued", "indexing", "deleting"].includes(d.status));
    const listed = documents.length === 1 ? t("documents_one") : t("documents_many", { n: documents.length });
    const count = !documents.length ? t("no_documents") : pending ? t("indexing_note", { count: listed }) : listed;
    say(note ? `${note} · ${count}` : count);
    if (pending) timer = setTimeout(() => refresh(note), 1500);
  }

  async function upload(files) {
    const notes = [];
    for (const file of files) {
      const form = new FormData();
      form.append("file", file);
      form.append("groups", $("groups").value);
      form.append("replace", "same-name");  // the page promises "replace"
      const response = await fetch(api, { method: "POST", headers: headers(), body: form });
      notes.push(response.ok ? t("queued_file", { name: file.name }) : `${file.name}: ${await problem(response)}`);
    }
    refresh(notes.join(" · "));
  }

  async function removeDoc(doc) {
    if (!window.confirm(t("confirm_document", { title: doc.title || doc.id }))) return;
    const response = await fetch(`${api}/${encodeURIComponent(doc.id)}`,
      { method: "DELETE", headers: headers() });
    refresh(response.ok ? t("deleting_doc", { title: doc.title || doc.id })
      : t("not_deleted", { error: await problem(response) }));
  }

  function start() {
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(STORE, $("admin-key").value);
      $("admin-key").value = "";
      refresh();
    });
    const drop = $("drop");
    drop.addEventListener("click", () => $("files").click());
    drop.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); $("files").click(); }
    });
    drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      upload([...event.dataTransfer.files]);
    });
    $("files").addEventListener("change", () => { upload([...$("files").files]); $("files").value = ""; });
    refresh();
  }

  start();
})();
