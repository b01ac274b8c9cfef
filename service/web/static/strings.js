// The pages' strings: the server writes them, translated, as JSON into <body data-strings>.
// citeqaText(key, {name: value}) returns one with its `{name}` placeholders filled.
"use strict";

window.citeqaText = (() => {
  const strings = JSON.parse(document.body.dataset.strings || "{}");
  return (key, values) => (strings[key] || key).replace(/\{(\w+)\}/g, (all, name) =>
    (values && name in values ? String(values[name]) : all));
})();
