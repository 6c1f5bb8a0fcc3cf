// PTSA Hub — the KPI page's IKM panel, kept live: a survey answer (skm.response on a sup.*
// channel) makes the page fetch GET /api/v1/skm again and write the new figures in place.
// Text only (textContent), as everywhere: see util.js.
(function () {
  "use strict";
  const PTSA = (window.PTSA = window.PTSA || {});

  function fmt(value) {
    if (value === null || value === undefined) return "–";
    const lang = (PTSA.config && PTSA.config.lang) === "en" ? "en-GB" : "id-ID";
    return new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
      .format(value);
  }

  function setText(id, text) {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  }

  function unitRow(body, unit) {
    let row = body.querySelector('tr[data-key="' + CSS.escape(unit.code) + '"]');
    if (row) return row;
    row = document.createElement("tr");
    row.setAttribute("data-key", unit.code);
    const head = document.createElement("th");
    head.scope = "row";
    head.textContent = unit.name;
    row.appendChild(head);
    for (const cls of ["resp", "pop", "min", "ikm", "mutu"]) {
      const cell = document.createElement("td");
      cell.className = cls;
      row.appendChild(cell);
    }
    body.appendChild(row);
    return row;
  }

  function show(report) {
    setText("ikm-value", fmt(report.ikm));
    const mutu = document.getElementById("ikm-mutu");
    if (mutu) {
      mutu.className = "ikm-mutu mutu-" + (report.mutu || "none");
      mutu.textContent = report.mutu ? report.mutu + " · " + report.label : PTSA.t("skm.none");
    }
    setText("ikm-respondents", String(report.respondents));
    setText("ikm-population", String(report.population));
    setText("ikm-min-sample", String(report.min_sample));
    const flag = document.getElementById("ikm-sample-flag");
    if (flag) flag.hidden = report.sample_ok;
    document.querySelectorAll("#ikm-elements td[data-el]").forEach((cell) => {
      const i = Number(cell.getAttribute("data-el"));
      cell.textContent = report.respondents ? fmt(report.elements[i]) : "–";
    });
    const body = document.querySelector("#ikm-units tbody");
    if (body) {
      for (const unit of report.units) {
        const row = unitRow(body, unit);
        row.querySelector(".resp").textContent = String(unit.respondents);
        row.querySelector(".pop").textContent = String(unit.population);
        row.querySelector(".min").textContent = String(unit.min_sample);
        row.querySelector(".min").classList.toggle("late", !unit.sample_ok);
        row.querySelector(".ikm").textContent = fmt(unit.ikm);
        row.querySelector(".mutu").textContent = unit.mutu || "–";
      }
    }
    const panel = document.getElementById("ikm-panel");
    if (panel) panel.setAttribute("data-respondents", String(report.respondents));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const cfg = PTSA.config || {};
    if (!cfg.url || !cfg.channels || !cfg.channels.length) return;
    let pending = null;
    const refresh = () => {
      clearTimeout(pending);
      pending = setTimeout(() => PTSA.getJSON(cfg.url).then(show, () => {}), 30);
    };
    const live = new PTSA.Live({
      channels: cfg.channels,
      onEvent: (frame) => { if (frame.type === "skm.response") refresh(); },
      onResync: refresh,
    });
    PTSA.live = live;
    live.start();
  });
})();
