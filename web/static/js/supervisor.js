// PTSA Hub — supervisor extras: the live breach banner (with optional sound and acknowledge),
// and the per-unit summary of open and overdue requests.
(function () {
  "use strict";
  const PTSA = (window.PTSA = window.PTSA || {});
  const ACK_KEY = "ptsa.ack";
  const SOUND_KEY = "ptsa.sound";
  let audio = null;

  function acked() {
    try { return new Set(JSON.parse(localStorage.getItem(ACK_KEY) || "[]")); } catch (e) { return new Set(); }
  }

  function acknowledge(key) {
    const keys = Array.from(acked());
    keys.push(key);
    localStorage.setItem(ACK_KEY, JSON.stringify(keys.slice(-500)));
  }

  function beep() {
    if (localStorage.getItem(SOUND_KEY) !== "1") return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "square"; osc.frequency.value = 880;
      gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.35);
    } catch (e) { /* no audio device: the banner is enough */ }
  }

  // What a breach is about, from a server-rendered breach or an sla.breached event.
  function breachOf(frame) {
    const d = frame.data || {};
    const clock = d.clock || {};
    const task = d.task || {};
    const kind = clock.kind || d.kind || "";
    const clockId = clock.id || d.clock_id;
    return {
      key: clockId ? clockId + ":" + kind : frame.id,
      taskId: task.id || d.task_id || clock.task_id,
      code: task.code || d.code || d.task_code || "",
      kind, unit: clock.unit || d.unit || "",
    };
  }

  function showBanner(breach, loud) {
    const area = document.getElementById("breach-area");
    if (!area || acked().has(breach.key)) return;
    if (area.querySelector('[data-key="' + CSS.escape(breach.key) + '"]')) return;
    const el = document.getElementById("banner-template").content.firstElementChild.cloneNode(true);
    el.setAttribute("data-key", breach.key);
    const units = (PTSA.config && PTSA.config.units) || {};
    el.querySelector('[data-f="text"]').textContent = PTSA.t("breach_text", {
      code: breach.code, kind: PTSA.t("kind." + breach.kind), unit: units[breach.unit] || breach.unit,
    });
    const link = el.querySelector('[data-f="link"]');
    if (breach.taskId) link.setAttribute("href", "/permohonan/" + breach.taskId); else link.hidden = true;
    el.querySelector('[data-f="ack"]').addEventListener("click", () => {
      acknowledge(breach.key);
      el.remove();
    });
    area.prepend(el);
    if (loud) {
      beep();
      PTSA.notify(PTSA.t("breach"), el.querySelector('[data-f="text"]').textContent,
                  breach.taskId ? "/permohonan/" + breach.taskId : null);
    }
  }

  function summarise() {
    const box = document.getElementById("unit-summary");
    if (!box || !PTSA.board) return;
    const counts = new Map();
    PTSA.board.elements.forEach((el, id) => {
      const card = PTSA.board.lastCards.get(id);
      if (!card) return;
      const c = counts.get(card.unit) || { open: 0, late: 0 };
      c.open += 1;
      if (el.classList.contains("overdue")) c.late += 1;
      counts.set(card.unit, c);
    });
    const units = (PTSA.config && PTSA.config.units) || {};
    box.replaceChildren();
    Array.from(counts.entries()).sort().forEach(([unit, c]) => {
      const chip = document.createElement("span");
      chip.className = "unit-chip" + (c.late ? " has-late" : "");
      chip.textContent = (units[unit] || unit) + ": " + c.open + (c.late ? " (" + c.late + " ⚠)" : "");
      box.appendChild(chip);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const cfg = PTSA.config || {};
    if (cfg.kind !== "supervisor") return;
    for (const b of cfg.breaches || []) {
      showBanner({ key: b.key, taskId: b.task_id, code: b.code, kind: b.kind, unit: b.unit }, false);
    }
    const toggle = document.getElementById("sound-toggle");
    if (toggle) {
      toggle.checked = localStorage.getItem(SOUND_KEY) === "1";
      toggle.addEventListener("change", () => {
        if (toggle.checked) { localStorage.setItem(SOUND_KEY, "1"); beep(); }
        else localStorage.removeItem(SOUND_KEY);
      });
    }
    document.addEventListener("ptsa:event", (e) => {
      const frame = e.detail;
      if (frame.type === "sla.breached") showBanner(breachOf(frame), true);
    });
    document.addEventListener("ptsa:board-changed", summarise);
    setInterval(summarise, 5000);
    summarise();
  });
})();
