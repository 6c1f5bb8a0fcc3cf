// PTSA Hub — unread messages: the top bar's count, a badge on each card that has some, a toast,
// and (when switched on) a desktop notification and a sound. The counts are kept on the server
// (GET /api/v1/me/unread); message.unread / message.read on the user.<username> channel keep
// every open page of this staff member in step (docs/PROTOCOL.md).
(function () {
  "use strict";
  const PTSA = (window.PTSA = window.PTSA || {});
  const SOUND_KEY = "ptsa.sound"; // the same switch as the supervisor's breach sound
  const counts = new Map(); // task id -> unread
  let total = 0;
  let audio = null;

  function beep() {
    if (localStorage.getItem(SOUND_KEY) !== "1") return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "sine"; osc.frequency.value = 660;
      gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.2);
    } catch (e) { /* no audio device: the toast is enough */ }
  }

  // Strings come with the top bar's badge (base.html), so pages without live data have them too.
  function say(key, vars) {
    const top = document.getElementById("unread-total");
    const text = (top && top.getAttribute("data-" + key)) || key;
    return text.replace(/%\((\w+)\)s/g, (_, name) => (name in vars ? String(vars[name]) : ""));
  }

  function draw() {
    const top = document.getElementById("unread-total");
    if (top) {
      top.hidden = total <= 0;
      top.querySelector("[data-f=n]").textContent = String(total);
      top.setAttribute("title", say("total", { n: total }));
    }
    document.querySelectorAll("[data-list] [data-id], #results tr[data-id]").forEach((el) => {
      const n = counts.get(Number(el.getAttribute("data-id"))) || 0;
      let badge = el.querySelector(".unread-badge");
      if (!n) { if (badge) badge.remove(); return; }
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "unread-badge";
        const head = el.querySelector(".card-head") || el.querySelector("td") || el;
        head.appendChild(badge);
      }
      badge.textContent = String(n);
      badge.setAttribute("title", say("task", { n }));
    });
  }

  function onFrame(frame) {
    if (!frame || !frame.data || !frame.data.task) return;
    const id = Number(frame.data.task.id);
    if (frame.type === "message.unread") {
      counts.set(id, frame.data.count);
      total = frame.data.total;
      draw();
      const cfg = PTSA.config || {};
      if (cfg.kind === "task" && cfg.task_id === id) return; // being read right here
      const who = frame.data.from ? frame.data.from.name : "";
      const title = say("toast", { code: frame.data.task.code, name: who });
      PTSA.toast(title + ": " + (frame.data.excerpt || ""), "message");
      PTSA.notify(title, frame.data.excerpt || "", "/permohonan/" + id);
      beep();
    } else if (frame.type === "message.read") {
      counts.delete(id);
      total = frame.data.total;
      draw();
    }
  }

  async function load() {
    try {
      const response = await fetch("/api/v1/me/unread", {
        credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const answer = await response.json();
      counts.clear();
      for (const t of answer.tasks) counts.set(t.id, t.count);
      total = answer.total;
      draw();
    } catch (e) { console.warn("unread messages not loaded", e); }
  }

  PTSA.unread = { counts, load, draw };
  document.addEventListener("ptsa:event", (e) => onFrame(e.detail));
  document.addEventListener("ptsa:board-changed", () => draw());
  document.addEventListener("DOMContentLoaded", () => {
    if (!document.getElementById("unread-total")) return;
    load();
    const sound = document.getElementById("sound-optin");
    if (sound) {
      sound.checked = localStorage.getItem(SOUND_KEY) === "1";
      sound.addEventListener("change", () => {
        localStorage.setItem(SOUND_KEY, sound.checked ? "1" : "0");
        if (sound.checked) beep();
      });
    }
  });
})();
