// PTSA Hub — the open complaints panel of the boards and the supervisor page: new complaints
// appear, answered ones go, overdue ones are marked, live (complaint.* events relayed by board.js
// as "ptsa:event"); a reply is posted to /api/v1/complaints/{number}/reply. Text only.
(function () {
  "use strict";
  const PTSA = (window.PTSA = window.PTSA || {});

  function itemOf(list, number) {
    return list.querySelector('li[data-number="' + CSS.escape(number) + '"]');
  }

  function count(list) {
    const el = document.getElementById("complaints-count");
    if (el) el.textContent = String(list.querySelectorAll("li.complaint").length);
  }

  function fill(li, c) {
    li.setAttribute("data-number", c.number);
    li.querySelector("form").setAttribute("data-number", c.number);
    li.querySelector('[data-f="number"]').textContent = c.number;
    li.querySelector('[data-f="unit"]').textContent = c.unit;
    li.querySelector('[data-f="registration"]').textContent = c.registration || "";
    li.querySelector('[data-f="text"]').textContent = c.text;
    const due = li.querySelector('[data-f="due_at"]');
    due.setAttribute("data-due", c.due_at || "");
    due.textContent = PTSA.formatWhen(c.due_at);
    li.classList.toggle("overdue", !!c.breached_at);
  }

  function upsert(list, c) {
    let li = itemOf(list, c.number);
    if (!li) {
      const template = document.getElementById("complaint-template");
      li = template.content.firstElementChild.cloneNode(true);
      list.prepend(li);
    }
    fill(li, c);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const panel = document.getElementById("complaints");
    const list = document.getElementById("complaints-list");
    if (!panel || !list) return;
    document.addEventListener("ptsa:event", (e) => {
      const frame = e.detail || {};
      const c = frame.data && frame.data.complaint;
      if (!c) return;
      const me = (PTSA.config && PTSA.config.me) || {};
      if (frame.type === "complaint.answered" ||
          (frame.type === "complaint.forwarded" && me.role === "p0")) {
        const li = itemOf(list, c.number);
        if (li) li.remove();
      } else if (frame.type === "complaint.forwarded") {
        upsert(list, c);
      } else if (frame.type === "complaint.created" || frame.type === "complaint.breached") {
        upsert(list, c);
      }
      count(list);
    });
    list.addEventListener("submit", async (event) => {
      const form = event.target.closest("form.complaint-reply, form.complaint-forward");
      if (!form) return;
      event.preventDefault();
      const number = form.getAttribute("data-number");
      const replying = form.classList.contains("complaint-reply");
      const payload = replying ? { reply: form.querySelector("textarea").value }
                               : { unit: form.querySelector("select").value };
      const response = await fetch("/api/v1/complaints/" + encodeURIComponent(number) +
                                   (replying ? "/reply" : "/forward"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "X-CSRF-Token": panel.getAttribute("data-csrf") || "" },
        body: JSON.stringify(payload),
      });
      let body = {};
      try { body = await response.json(); } catch (e) { body = {}; }
      if (response.ok && !replying) {
        upsert(list, body);
      } else if (response.ok || response.status === 409) {
        const li = itemOf(list, number);
        if (li) li.remove();
        count(list);
      } else {
        PTSA.toast(PTSA.t("action_failed", { message: (body.error || {}).message || response.status }),
                   "error");
      }
    });
  });
})();
