// The pages' strings: the server writes them, translated, into #citeqa-strings as JSON.
// citeqaText(key, {name: value}) returns one with its `{name}` placeholders filled.
"use strict";

window.citeqaText = (() => {
  const strings = JSON.parse(document.getElementById("citeqa-strings")?.textContent || "{}");
  return (key, values) => (strings[key] || key).replace(/\{(\w+)\}/g, (all, name) =>
    (values && name in values ? String(values[name]) : all));
})();
