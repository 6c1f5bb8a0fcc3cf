// PTSA Hub — supervisor extras: the live breach banner (with optional sound and acknowledge),
// and the per-unit summary of open and overdue requests.
//
// Acknowledging is recorded on the server (POST /api/v1/sla/{clock}/ack), which publishes
// sla.acknowledged to every supervisor screen of the scope: each one drops that banner, and a
// reload does not bring it back (the page only lists unacknowledged breaches).
(function () {
  "use strict";
  const PTSA = (window.PTSA = window.PTSA || {});
  const SOUND_KEY = "ptsa.sound";
  const acked = new Set(); // banner keys acknowledged while this page is open
  let audio = null;

  // Acknowledgements used to be kept per browser only; that key means nothing any more.
  try { localStorage.removeItem("ptsa.ack"); } catch (e) { /* storage disabled */ }

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

  // What a breach is about, from a server-rendered breach or an sla.* event.
  function breachOf(frame) {
    const d = frame.data || {};
    const clock = d.clock || {};
    const task = d.task || {};
    const kind = clock.kind || d.kind || "";
    const clockId = clock.id || d.clock_id;
    return {
      key: clockId ? clockId + ":" + kind : frame.id,
      clockId,
      taskId: task.id || d.task_id || clock.task_id,
      code: task.code || d.code || d.task_code || "",
      kind, unit: clock.unit || d.unit || "",
    };
  }

  function bannerOf(key) {
    const area = document.getElementById("breach-area");
    return area ? area.querySelector('[data-key="' + CSS.escape(key) + '"]') : null;
  }

  async function acknowledge(breach, el, button) {
    button.disabled = true;
    el.setAttribute("data-acking", "1"); // our own event may come back before the answer
    try {
      const answer = await PTSA.postJSON("/api/v1/sla/" + encodeURIComponent(breach.clockId) + "/ack");
      if (answer.ok) {
        acked.add(breach.key);
        el.remove();
        return;
      }
      if (answer.status === 401) { PTSA.signedOut(); return; }
      const error = answer.body.error || {};
      PTSA.toast(PTSA.t("action_failed", { message: error.message || answer.status }), "error");
    } catch (e) {
      PTSA.toast(PTSA.t("action_failed", { message: String(e) }), "error");
    }
    el.removeAttribute("data-acking");
    button.disabled = false;
  }

  // Someone (here, on another screen, or another supervisor of the scope) acknowledged it.
  function acknowledged(frame) {
    const breach = breachOf(frame);
    acked.add(breach.key);
    const el = bannerOf(breach.key);
    if (!el) return;
    el.remove();
    if (el.hasAttribute("data-acking")) return;
    const d = frame.data || {};
    const who = d.acknowledged_by || d.actor || {};
    PTSA.toast(PTSA.t("acked_text", { code: breach.code, name: who.name || who.username || "",
                                      time: PTSA.formatWhen(d.acknowledged_at || frame.at, true) }));
  }

  function showBanner(breach, loud) {
    const area = document.getElementById("breach-area");
    if (!area || acked.has(breach.key) || bannerOf(breach.key)) return;
    const el = document.getElementById("banner-template").content.firstElementChild.cloneNode(true);
    el.setAttribute("data-key", breach.key);
    const units = (PTSA.config && PTSA.config.units) || {};
    el.querySelector('[data-f="text"]').textContent = PTSA.t("breach_text", {
      code: breach.code, kind: PTSA.t("kind." + breach.kind), unit: units[breach.unit] || breach.unit,
    });
    const link = el.querySelector('[data-f="link"]');
    if (breach.taskId) link.setAttribute("href", "/permohonan/" + breach.taskId); else link.hidden = true;
    const button = el.querySelector('[data-f="ack"]');
    if (breach.clockId) button.addEventListener("click", () => acknowledge(breach, el, button));
    else button.hidden = true; // nothing the server could record
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
      showBanner({ key: b.key, clockId: b.clock_id, taskId: b.task_id, code: b.code, kind: b.kind,
                   unit: b.unit }, false);
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
      else if (frame.type === "sla.acknowledged") acknowledged(frame);
    });
    document.addEventListener("ptsa:board-changed", summarise);
    setInterval(summarise, 5000);
    summarise();
  });
})();
