// PTSA Hub — small helpers shared by every page. No framework, no build step.
// Rule: data from the server goes into the page with textContent or attributes, never innerHTML.
(function () {
  "use strict";
  const PTSA = (window.PTSA = window.PTSA || {});

  PTSA.pageData = function () {
    const el = document.getElementById("page-data");
    return el ? JSON.parse(el.textContent) : {};
  };

  // Translated strings come from the server (page-data.strings); %(name)s placeholders.
  PTSA.t = function (key, vars) {
    const strings = (PTSA.config && PTSA.config.strings) || {};
    let text = strings[key] || key;
    if (vars) {
      text = text.replace(/%\((\w+)\)s/g, (_, name) => (name in vars ? String(vars[name]) : ""));
    }
    return text;
  };

  // Date and time in the hall's zone and the page's language; timeOnly: just HH.MM.
  PTSA.formatWhen = function (iso, timeOnly) {
    if (!iso) return "–";
    const cfg = PTSA.config || {};
    const lang = cfg.lang === "en" ? "en-GB" : "id-ID";
    const date = timeOnly ? {} : { day: "numeric", month: "short", year: "numeric" };
    try {
      return new Intl.DateTimeFormat(lang, {
        timeZone: cfg.timezone || "Asia/Jakarta", ...date,
        hour: "2-digit", minute: "2-digit", hour12: false,
      }).format(new Date(iso));
    } catch (e) {
      return iso;
    }
  };

  function pad(n) { return String(n).padStart(2, "0"); }

  // A duration in words, largest units first and no seconds beyond one hour:
  // "2 hari 3 jam", "3 jam 20 menit", "12 menit 5 detik".
  PTSA.formatDuration = function (ms) {
    const total = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(total / 86400), h = Math.floor((total % 86400) / 3600);
    const m = Math.floor((total % 3600) / 60), s = total % 60;
    if (d) return PTSA.t("dur.dh", { d, h });
    if (h) return PTSA.t("dur.hm", { h, m });
    return PTSA.t("dur.ms", { m, s });
  };

  // Working time in words, a working day being the office's standard day: "2 hari kerja 3 jam".
  PTSA.formatWorking = function (ms, dayMs) {
    const minutes = Math.floor(Math.abs(ms) / 60000);
    const perDay = Math.max(1, Math.round(dayMs / 60000));
    const d = Math.floor(minutes / perDay), rest = minutes % perDay;
    const h = Math.floor(rest / 60), m = rest % 60;
    if (d) return PTSA.t("wdur.dh", { d, h });
    if (h) return PTSA.t("wdur.hm", { h, m });
    return PTSA.t("wdur.m", { m });
  };

  // The office's open spans (GET /api/v1/calendar/open, the SLA engine's calendar): working
  // time between two instants is the spans' overlap with them — the server's one rule, summed.
  let office = null;
  PTSA.loadCalendar = async function () {
    try {
      const answer = await PTSA.getJSON("/api/v1/calendar/open");
      office = { dayMs: answer.working_day_seconds * 1000,
                 spans: answer.spans.map(([o, c]) => [Date.parse(o), Date.parse(c)]) };
      PTSA.tick();
    } catch (e) { console.warn("office calendar not loaded", e); }
  };
  PTSA.workingBetween = function (a, b) {
    let sum = 0;
    for (const [o, c] of office.spans) sum += Math.max(0, Math.min(c, b) - Math.max(o, a));
    return sum;
  };

  function countdownText(el, dueMs, now) {
    const kind = el.getAttribute("data-kind");
    const left = dueMs - now;
    let time;
    if (el.getAttribute("data-mode") === "working") {
      if (!office) return "";
      const worked = left >= 0 ? PTSA.workingBetween(now, dueMs) : PTSA.workingBetween(dueMs, now);
      time = PTSA.formatWorking(worked, office.dayMs);
    } else {
      time = PTSA.formatDuration(left);
    }
    const text = PTSA.t(left >= 0 ? "cd.left" : "cd.late", { time });
    return kind ? PTSA.t("cd.label", { label: PTSA.t("deadline." + kind), text }) : text;
  }

  // Staff PCs' clocks may be off by minutes or hours, so deadlines are counted against the
  // server's clock: the page carries the server's time when it was rendered (page-data
  // server_now, epoch ms) and the offset to this PC's clock is taken once, at load. It is late by
  // the page's delivery time (milliseconds on the intranet), which a countdown in seconds hides.
  let clockOffset = 0;
  PTSA.syncClock = function (serverNow) {
    if (typeof serverNow === "number" && isFinite(serverNow)) clockOffset = serverNow - Date.now();
  };
  PTSA.now = function () { return Date.now() + clockOffset; };

  // Every element with a non-empty data-due counts down once a second; the card or row holding
  // it is marked overdue when the deadline passes.
  const WARN_MS = 3 * 60 * 1000;
  PTSA.tick = function () {
    const now = PTSA.now();
    const holders = new Map(); // card or row -> is any of its deadlines past?
    document.querySelectorAll("[data-due]").forEach((el) => {
      const holder = el.closest(".card, tr");
      const due = el.getAttribute("data-due");
      if (holder && !holders.has(holder)) holders.set(holder, false);
      if (!due) {
        el.textContent = el.getAttribute("data-empty") || "";
        el.classList.remove("warn", "late");
        return;
      }
      const left = Date.parse(due) - now;
      el.textContent = countdownText(el, Date.parse(due), now);
      el.classList.toggle("late", left < 0);
      el.classList.toggle("warn", left >= 0 && left < WARN_MS);
      if (holder && left < 0) holders.set(holder, true);
    });
    holders.forEach((late, holder) => holder.classList.toggle("overdue", late));
  };

  PTSA.toast = function (text, kind) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "toast" + (kind ? " " + kind : "");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(() => el.remove(), 6000);
  };

  // Post a page form with fetch and read the JSON answer (the same route a plain submit uses).
  PTSA.postForm = function (form) {
    return post(form.action, { body: new FormData(form) });
  };

  // POST to a JSON API route with the page's CSRF token as a header (no form to carry it).
  PTSA.postJSON = function (url) {
    return post(url, { headers: { "X-CSRF-Token": (PTSA.config || {}).csrf || "" } });
  };

  async function post(url, init) {
    const response = await fetch(url, {
      ...init, method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", ...(init.headers || {}) },
    });
    let body = {};
    try { body = await response.json(); } catch (e) { body = {}; }
    return { ok: response.ok, status: response.status, body };
  }

  PTSA.getJSON = async function (url) {
    const response = await fetch(url, { credentials: "same-origin",
                                        headers: { Accept: "application/json" } });
    if (response.status === 401) {
      PTSA.signedOut();
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error(url + " answered " + response.status);
    return response.json();
  };

  PTSA.signedOut = function () {
    PTSA.toast(PTSA.t("signed_out"), "error");
    setTimeout(() => {
      window.location.href = "/masuk?next=" + encodeURIComponent(location.pathname);
    }, 1500);
  };

  // Desktop notifications are opt-in: the button asks the browser, the choice is remembered.
  const NOTIFY_KEY = "ptsa.notify";
  PTSA.notify = function (title, body, url) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (localStorage.getItem(NOTIFY_KEY) !== "1") return;
    const n = new Notification(title, { body, tag: title });
    if (url) n.onclick = () => { window.focus(); window.location.href = url; };
  };

  function setupNotifyButton() {
    const button = document.getElementById("notify-optin");
    if (!button) return;
    if (!("Notification" in window)) { button.hidden = true; return; }
    const refresh = () => {
      const on = Notification.permission === "granted" && localStorage.getItem(NOTIFY_KEY) === "1";
      button.setAttribute("aria-pressed", on ? "true" : "false");
      if (on) button.textContent = PTSA.t("notify.on");
      if (Notification.permission === "denied") button.textContent = PTSA.t("notify.denied");
    };
    button.addEventListener("click", async () => {
      if (localStorage.getItem(NOTIFY_KEY) === "1") {
        localStorage.removeItem(NOTIFY_KEY);
        window.location.reload();
        return;
      }
      const permission = await Notification.requestPermission();
      if (permission === "granted") localStorage.setItem(NOTIFY_KEY, "1");
      refresh();
    });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    PTSA.config = PTSA.pageData();
    PTSA.syncClock(PTSA.config.server_now);
    setupNotifyButton();
    PTSA.tick();
    setInterval(PTSA.tick, 1000);
    if (PTSA.config.kind) PTSA.loadCalendar(); // live pages: SOP countdowns in working time
  });
})();
