// PTSA Hub — the counter's intake form, built to be used with the keyboard alone:
// the service list has focus on load (type to search, Enter moves on), the SOP time of the chosen
// service is shown at once, Enter in a field or Ctrl+Enter in the notes registers.
(function () {
  "use strict";
  const PTSA = (window.PTSA = window.PTSA || {});

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("intake-form");
    if (!form) return;
    const select = document.getElementById("service");
    const hint = document.getElementById("sop-hint");
    const show = () => {
      const option = select.selectedOptions[0];
      if (!option || !option.value) { hint.textContent = ""; return; }
      hint.textContent = PTSA.t("sop_days", { n: option.getAttribute("data-sop") }) + " · " +
        (option.getAttribute("data-unit") || "");
    };
    // Only the chosen service's document checklist is shown and sent.
    const documents = () => {
      form.querySelectorAll("fieldset.documents").forEach((set) => {
        const mine = set.getAttribute("data-service") === select.value;
        set.hidden = !mine;
        set.disabled = !mine;
      });
    };
    select.addEventListener("change", show);
    select.addEventListener("change", documents);
    select.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); document.getElementById("applicant-name").focus(); }
    });
    document.getElementById("description").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", () => {
      document.getElementById("register").disabled = true; // one registration per press
    });
    show();
    documents();
    const invalid = form.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  });
})();
