// PTSA Hub — the task page: live timeline, clocks and thread over the task.<id> channel.
// Any event on the channel re-fetches the server-rendered part of the page (escaped by Jinja),
// so the page and a fresh load always agree. The message box is outside that part, so text being
// typed is never lost.
(function () {
  "use strict";
  const PTSA = (window.PTSA = window.PTSA || {});

  async function refresh(cfg) {
    const response = await fetch(cfg.fragment, { credentials: "same-origin",
                                                 headers: { Accept: "text/html" } });
    if (response.status === 401 || response.redirected) { PTSA.signedOut(); return; }
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const target = document.getElementById("task-main");
    const active = document.activeElement;
    const focused = active && target.contains(active) ? active.id : null;
    // What is being typed or chosen in an action form (a reason, a desk) survives the redraw;
    // the hidden version is the new one, so the action applies to the task as now shown.
    const kept = {};
    target.querySelectorAll("input[id], select[id], textarea[id]").forEach((n) => {
      if (n.type !== "hidden" && n.value) kept[n.id] = n.value;
    });
    target.replaceChildren(...Array.from(doc.body.childNodes).map((n) => document.importNode(n, true)));
    for (const [id, value] of Object.entries(kept)) {
      const n = document.getElementById(id);
      if (n && target.contains(n)) n.value = value;
    }
    const again = focused && document.getElementById(focused);
    if (again) again.focus();
    else if (focused) target.focus();
    const thread = document.getElementById("thread");
    if (thread) thread.scrollTop = thread.scrollHeight;
    PTSA.tick();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const cfg = PTSA.config || {};
    if (cfg.kind !== "task") return;
    let pending = null;
    const soon = () => { clearTimeout(pending); pending = setTimeout(() => refresh(cfg), 60); };
    PTSA.refreshTask = () => refresh(cfg);
    const live = new PTSA.Live({
      channels: cfg.channels,
      onEvent: (frame) => {
        document.dispatchEvent(new CustomEvent("ptsa:event", { detail: frame }));
        if (frame.channel !== "user." + cfg.me.username) soon(); // not another task's message
      },
      onResync: soon,
    });
    PTSA.live = live;
    live.start();
    const thread = document.getElementById("thread");
    if (thread) thread.scrollTop = thread.scrollHeight;
    const form = document.getElementById("message-form");
    if (!form) return;
    const box = document.getElementById("message-body");
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = await PTSA.postForm(form);
      if (answer.ok) {
        box.value = "";
        soon();
      } else {
        const error = answer.body.error || {};
        PTSA.toast(PTSA.t("action_failed", { message: error.text || error.message || answer.status }), "error");
      }
    });
  });
})();
