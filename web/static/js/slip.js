// PTSA Hub — the ticket slip: print it (the browser's print dialog; kiosk browsers started with
// --kiosk-printing print silently) and go back to the kiosk after a while.
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  document.getElementById("print").addEventListener("click", () => window.print());
  if (params.get("print") === "1") {
    setTimeout(() => window.print(), 300);
    setTimeout(() => { location.href = "/antrean"; }, 15000);
  }
})();
