// PTSA Hub — the receipt: the print button has focus, so Enter prints; Tab reaches "Next request".
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("print");
    if (button) button.addEventListener("click", () => window.print());
  });
})();
