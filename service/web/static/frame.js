// A page that stands in for the chat inside the widget's frame: tell the widget it loaded,
// so it does not report the frame as refused or unreachable.
"use strict";

(() => {
  const parentOrigin = document.querySelector('meta[name="citeqa-parent"]')?.content || "";
  if (parentOrigin && window.parent !== window) {
    window.parent.postMessage({ type: "citeqa:ready" }, parentOrigin);
  }
})();
