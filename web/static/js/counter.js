// PTSA Hub — the counter's queue screen (/loket/antrean): call the next applicant, call again,
// no-show (they may come back once), transfer to another group, register the called applicant.
(function () {
  "use strict";
  const PTSA = window.PTSA;
  let current = null; // the ticket called at this counter
  let config = {};

  function message(text, kind) {
    const box = document.getElementById("queue-message");
    box.textContent = text;
    box.className = kind === "error" ? "alert" : "notice";
    box.hidden = false;
  }

  async function send(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRF-Token": config.csrf },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json();
    if (!response.ok) throw Object.assign(new Error(data.error.message), { code: data.error.code, data });
    return data;
  }

  function show(ticket) {
    current = ticket && ticket.status === "called" && ticket.counter === config.counter ? ticket : null;
    document.getElementById("current-number").textContent = current ? current.number : "–";
    const group = current && config.snapshot.groups.find((g) => g.code === current.group);
    document.getElementById("current-group").textContent =
      current ? current.group + (group ? " · " + group.name : "") : "";
    for (const id of ["recall", "skip", "transfer"]) document.getElementById(id).disabled = !current;
    const register = document.getElementById("register");
    register.setAttribute("aria-disabled", current ? "false" : "true");
    register.href = current ? "/loket?antrean=" + current.id : "#";
  }

  function setWaiting(waiting) {
    if (!waiting) return;
    document.querySelectorAll("#waiting li").forEach((li) => {
      if (li.dataset.group in waiting) li.querySelector(".count").textContent = waiting[li.dataset.group];
    });
  }

  function noShow(ticket) {
    const list = document.getElementById("no-shows");
    const existing = list.querySelector('[data-id="' + ticket.id + '"]');
    if (ticket.status !== "no_show") { if (existing) existing.remove(); return; }
    if (existing || ticket.returns >= 1) return;
    const li = document.createElement("li");
    li.dataset.id = ticket.id;
    li.textContent = ticket.number + " ";
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = PTSA.t("back");
    button.addEventListener("click", () => act(() => send("/api/v1/queue/tickets/" + ticket.id + "/return")));
    li.appendChild(button);
    list.appendChild(li);
  }

  async function act(run) {
    try {
      const ticket = await run();
      if (ticket && ticket.number) {
        if (ticket.counter === config.counter) show(ticket);
        else if (current && ticket.id === current.id) show(null);
      }
      return ticket;
    } catch (e) {
      message(e.code === "queue_empty" ? PTSA.t("queue_empty") : e.message, "error");
      return null;
    }
  }

  async function refresh() {
    const state = await PTSA.getJSON("/api/v1/queue");
    const mine = state.counters.find((c) => c.counter === config.counter);
    show(mine ? mine.ticket : null);
    const waiting = {};
    for (const g of state.groups) waiting[g.code] = g.waiting;
    setWaiting(waiting);
    document.getElementById("overdue").textContent = state.overdue;
  }

  document.addEventListener("DOMContentLoaded", () => {
    config = PTSA.config;
    document.getElementById("call-next").addEventListener("click", async () => {
      const ticket = await act(() => send("/api/v1/queue/call", { counter: config.counter }));
      if (ticket) message(PTSA.t("called", { number: ticket.number }));
    });
    document.getElementById("recall").addEventListener("click", () =>
      act(() => send("/api/v1/queue/tickets/" + current.id + "/recall")));
    document.getElementById("skip").addEventListener("click", () =>
      act(() => send("/api/v1/queue/tickets/" + current.id + "/skip")));
    document.getElementById("transfer").addEventListener("click", () =>
      act(() => send("/api/v1/queue/tickets/" + current.id + "/transfer",
                     { group: document.getElementById("transfer-group").value })));
    document.querySelectorAll("button.take").forEach((button) => {
      button.addEventListener("click", async () => {
        try {
          const ticket = await send("/api/v1/queue/tickets", { group: button.dataset.group });
          message(PTSA.t("taken", { number: ticket.number }));
          window.open("/antrean/tiket/" + ticket.id + "?ahead=" + ticket.ahead + "&wait=" +
                      ticket.estimated_wait_minutes, "_blank");
        } catch (e) { message(e.message, "error"); }
      });
    });
    const mine = config.snapshot.counters.find((c) => c.counter === config.counter);
    show(mine ? mine.ticket : null);
    const live = new PTSA.Live({
      channels: config.channels,
      onEvent: (frame) => {
        const data = frame.data || {};
        setWaiting(data.waiting);
        if (data.ticket) {
          noShow(data.ticket);
          if (data.ticket.counter === config.counter || (current && data.ticket.id === current.id)) show(data.ticket);
        }
      },
      onResync: () => refresh().catch(() => {}),
    });
    live.start();
    // A wait becomes overdue by the clock, not by an event: recount every 15 s.
    setInterval(() => refresh().catch(() => {}), 15000);
  });
})();
