// PTSA Hub — the hall queue on the supervisor page: how many wait, how many longer than the
// target, today's average wait. Redrawn on every hall event and every 10 s (a wait becomes
// overdue by the clock, with no event).
(function () {
  "use strict";
  const PTSA = window.PTSA;

  async function refresh() {
    const state = await PTSA.getJSON("/api/v1/queue");
    const waiting = state.groups.reduce((n, g) => n + g.waiting, 0);
    document.getElementById("hall-waiting").textContent = waiting;
    const overdue = document.getElementById("hall-overdue-count");
    overdue.textContent = state.overdue;
    document.getElementById("hall-target").textContent = state.wait_target_minutes;
    overdue.classList.toggle("overdue", state.overdue > 0);
    const avg = state.kpi.average_wait_minutes;
    document.getElementById("hall-average").textContent = avg === null ? "–" : avg + " min";
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!document.getElementById("hall-overdue")) return;
    const live = new PTSA.Live({ channels: ["hall"], onEvent: () => refresh().catch(() => {}),
                                 onResync: () => refresh().catch(() => {}) });
    live.indicator = null; // the page's own connection owns the indicator
    live.start();
    setInterval(() => refresh().catch(() => {}), 10000);
  });
})();
