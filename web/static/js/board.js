// PTSA Hub — live boards (P0 today, P1/P2 desk queue and my tasks, supervisor table).
//
// Cards are kept in a map id -> {version, seq}. A card from an event, an action's answer or an
// HTTP reload is applied only if its version is not older than the one we hold, so a late or
// replayed event never brings back a stale card. A reload also removes cards that are no longer
// in the server's answer — unless an event touched them after the reload started.
(function () {
  "use strict";
  const PTSA = (window.PTSA = window.PTSA || {});
  const OPEN = new Set(["queued", "claimed", "on_hold", "returned"]);

  // The buttons a card shows (a hint for the screen only): looked up in the server's answer
  // for this viewer's role (hub/domain/actions.py action_table, from the same domain functions
  // as the server-rendered cards and the task page), never decided here.
  function availableActions(card, me, table) {
    const assignee = card.assignee ? card.assignee.username : null;
    const key = [card.status, card.level, card.unit === me.unit ? 1 : 0,
      assignee === me.username ? 1 : 0].join("|");
    return new Set((table || {})[key] || []);
  }

  class Board {
    constructor(cfg, options) {
      this.cfg = cfg;
      this.me = cfg.me;
      this.kind = cfg.kind;
      this.template = document.getElementById(options.templateId || "card-template");
      this.known = new Map(); // id -> {version, seq}
      this.lastCards = new Map(); // id -> the newest card JSON (for sorting)
      this.elements = new Map();
      this.seq = 0;
      this.reloading = null;
      this.reloadAgain = false;
      this.onNewInQueue = options.onNewInQueue || (() => {});
      this.lists = {};
      document.querySelectorAll("[data-list]").forEach((el) => {
        this.lists[el.getAttribute("data-list")] = el;
      });
      // Adopt the server-rendered cards, then redraw them from the same JSON.
      document.querySelectorAll("[data-list] [data-id]").forEach((el) => el.remove());
      for (const card of cfg.cards || []) this.apply(card);
      this.refreshCounts();
    }

    membership(card) {
      if (this.kind === "desk") {
        if (card.level !== this.me.role || card.unit !== this.me.unit) return null;
        if (card.status === "queued") return "queue";
        const mine = card.assignee && card.assignee.username === this.me.username;
        return mine && (card.status === "claimed" || card.status === "on_hold") ? "mine" : null;
      }
      if (this.kind === "supervisor") return OPEN.has(card.status) ? "open" : null;
      const today = this.cfg.today ? Date.parse(this.cfg.today) : 0;
      return Date.parse(card.created_at) >= today || card.status === "returned" ? "today" : null;
    }

    apply(card, fromEvent) {
      if (!card || card.id === undefined || card.id === null) return;
      const held = this.known.get(card.id);
      if (held && card.version < held.version) return; // older than what we show
      this.seq += 1;
      this.known.set(card.id, { version: card.version, seq: this.seq });
      this.lastCards.set(card.id, card);
      const listName = this.membership(card);
      let el = this.elements.get(card.id);
      if (!listName || !this.lists[listName]) {
        if (el) { el.remove(); this.elements.delete(card.id); }
        this.refreshCounts();
        return;
      }
      const isNew = !el;
      if (isNew) {
        el = this.template.content.firstElementChild.cloneNode(true);
        this.elements.set(card.id, el);
      }
      this.fill(el, card);
      const list = this.lists[listName];
      if (el.parentElement !== list) list.appendChild(el);
      this.sort(list, listName);
      PTSA.tick(); // draw the countdown now, not at the next second
      if (isNew && fromEvent) {
        el.classList.add("fresh");
        setTimeout(() => el.classList.remove("fresh"), 2500);
        if (listName === "queue" || listName === "today" || listName === "open") {
          this.onNewInQueue(card);
        }
      }
      this.refreshCounts();
    }

    remove(id) {
      const el = this.elements.get(id);
      if (el) { el.remove(); this.elements.delete(id); }
    }

    fill(el, card) {
      const set = (name, text) => {
        el.querySelectorAll('[data-f="' + name + '"]').forEach((n) => { n.textContent = text; });
      };
      el.setAttribute("data-id", card.id);
      el.setAttribute("data-version", card.version);
      el.setAttribute("data-status", card.status);
      el.setAttribute("data-service", card.service);
      const only = document.getElementById("board-service");
      el.hidden = Boolean(only && only.value && only.value !== card.service);
      for (const status of ["queued", "claimed", "on_hold", "returned", "completed"]) {
        el.classList.toggle("status-" + status, card.status === status);
      }
      set("code", card.code);
      set("status", PTSA.t("status." + card.status));
      set("service_name", card.service_name || card.service);
      set("sop_days", card.sop_days ? PTSA.t("sop_days", { n: card.sop_days }) : "");
      set("applicant_name", card.applicant ? card.applicant.name : "");
      set("applicant_org", card.applicant ? card.applicant.organisation || "" : "");
      const units = this.cfg.units || {};
      set("unit", units[card.unit] || card.unit);
      set("created_at", PTSA.formatWhen(card.created_at));
      set("due_at", PTSA.formatWhen(card.due_at));
      set("assignee", card.assignee ? card.assignee.name : "–");
      set("hold_reason", card.hold_reason || "");
      el.querySelectorAll('[data-f="hold_row"]').forEach((n) => { n.hidden = card.status !== "on_hold"; });
      el.querySelectorAll('[data-f="assignee_row"]').forEach((n) => { n.hidden = !card.assignee; });
      el.querySelectorAll('[data-f="link"], [data-f="open"]').forEach((a) => {
        a.setAttribute("href", "/permohonan/" + card.id);
      });
      el.querySelectorAll('[data-f="contact"]').forEach((a) => {
        a.setAttribute("href", "/permohonan/" + card.id + "#pemohon");
      });
      el.querySelectorAll('[data-f="supervise"]').forEach((a) => {
        a.setAttribute("href", "/permohonan/" + card.id + "#supervisi");
      });
      el.querySelectorAll('[data-f="countdown"]').forEach((n) => {
        n.setAttribute("data-due", card.status === "queued" && card.pickup_due_at ? card.pickup_due_at : "");
        n.setAttribute("data-kind", card.level + "_pickup");
      });
      el.querySelectorAll('[data-f="due_countdown"]').forEach((n) => {
        // The SOP clock stands still while the request is back at the counter or on hold.
        const stopped = card.status === "returned" || card.status === "on_hold";
        n.setAttribute("data-due", !stopped && card.due_at ? card.due_at : "");
        n.setAttribute("data-empty", card.status === "on_hold" ? PTSA.t("paused") : "");
      });
      el.querySelectorAll('input[name="version"]').forEach((n) => { n.value = card.version; });
      el.querySelectorAll('select[name="unit"]').forEach((n) => {
        if (!n.value && card.service_unit) n.value = card.service_unit; // the usual disposition
      });
      const acts = availableActions(card, this.me, this.cfg.actions);
      el.querySelectorAll("form[data-action]").forEach((form) => {
        const action = form.getAttribute("data-action");
        form.setAttribute("action", "/permohonan/" + card.id + "/" + action);
        form.hidden = !acts.has(action);
      });
      // A link to another page's forms (the task page's reassign, re-route): shown if one is open.
      el.querySelectorAll("[data-offer]").forEach((n) => {
        n.hidden = !n.getAttribute("data-offer").split(" ").some((a) => acts.has(a));
      });
      el.querySelectorAll("select[id], input[id]").forEach((n) => {
        const base = n.id.replace(/-(\d+|tpl)$/, "");
        n.id = base + "-" + card.id;
        const label = el.querySelector('label[for^="' + base + '-"]');
        if (label) label.setAttribute("for", n.id);
      });
    }

    sortKey(card, listName) {
      if (listName === "queue") return [card.pickup_due_at || card.created_at, card.id];
      if (listName === "open") {
        const overdue = card.pickup_due_at && Date.parse(card.pickup_due_at) < PTSA.now() ? 0 : 1;
        return [overdue, card.pickup_due_at || card.due_at || "", card.id];
      }
      return [-card.id];
    }

    sort(list, listName) {
      const cards = Array.from(list.children).filter((el) => el.hasAttribute("data-id"));
      const keyed = cards.map((el) => {
        const id = Number(el.getAttribute("data-id"));
        return { el, key: this.sortKey(this.lastCards.get(id) || { id }, listName) };
      });
      keyed.sort((a, b) => {
        for (let i = 0; i < a.key.length; i++) {
          if (a.key[i] < b.key[i]) return -1;
          if (a.key[i] > b.key[i]) return 1;
        }
        return 0;
      });
      keyed.forEach(({ el }, i) => { if (list.children[i] !== el) list.insertBefore(el, list.children[i]); });
    }

    refreshCounts() {
      for (const [name, list] of Object.entries(this.lists)) {
        const n = list.querySelectorAll("[data-id]").length;
        document.querySelectorAll('[data-count="' + name + '"]').forEach((c) => { c.textContent = n; });
        document.querySelectorAll('[data-empty="' + name + '"]').forEach((e) => { e.hidden = n > 0; });
      }
      document.dispatchEvent(new CustomEvent("ptsa:board-changed"));
    }

    // Reload every card over HTTP (after recovered:false, or when the page first subscribes).
    async reload() {
      if (this.reloading) { this.reloadAgain = true; return this.reloading; }
      this.reloading = (async () => {
        const startedAt = this.seq;
        const indicator = document.getElementById("conn");
        try {
          const pages = await Promise.all(this.cfg.reload.map((url) => PTSA.getJSON(url)));
          const present = new Set();
          for (const page of pages) {
            for (const card of page.items) { present.add(card.id); this.apply(card); }
          }
          for (const [id] of Array.from(this.elements)) {
            const held = this.known.get(id);
            if (!present.has(id) && (!held || held.seq <= startedAt)) this.remove(id);
          }
          this.refreshCounts();
          if (indicator) indicator.setAttribute("data-reloaded", String(Date.now()));
        } catch (e) {
          console.warn("reload failed", e);
        } finally {
          this.reloading = null;
          if (this.reloadAgain) { this.reloadAgain = false; this.reload(); }
        }
      })();
      return this.reloading;
    }
  }

  function cardOf(frame) {
    return frame && frame.data && frame.data.task && frame.data.task.id !== undefined
      ? frame.data.task : null;
  }

  // Forms inside cards post with fetch: the answer's card is applied at once, an error is shown
  // and, when the task moved on (claimed by someone else, stale), the board reloads.
  function wireActions(board) {
    document.addEventListener("submit", async (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.closest("[data-list]")) return;
      event.preventDefault();
      const buttons = form.querySelectorAll("button");
      buttons.forEach((b) => { b.disabled = true; });
      try {
        const answer = await PTSA.postForm(form);
        if (answer.ok && answer.body.task) {
          board.apply(answer.body.task);
        } else if (answer.status === 401) {
          PTSA.signedOut();
        } else {
          const error = answer.body.error || {};
          const text = error.code === "already_claimed" && error.assignee
            ? PTSA.t("claimed_by_other", { name: error.assignee })
            : PTSA.t("action_failed", { message: error.text || error.message || answer.status });
          PTSA.toast(text, "error");
          if (answer.status === 409 || answer.status === 403) board.reload();
        }
      } catch (e) {
        PTSA.toast(PTSA.t("action_failed", { message: String(e) }), "error");
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
  }

  PTSA.Board = Board;
  PTSA.cardOf = cardOf;

  document.addEventListener("DOMContentLoaded", () => {
    const cfg = PTSA.config;
    if (!cfg || !cfg.kind || cfg.kind === "task") return;
    const board = new Board(cfg, {
      templateId: cfg.kind === "supervisor" ? "row-template" : "card-template",
      onNewInQueue: (card) => {
        if (cfg.kind !== "desk") return;
        PTSA.notify(PTSA.t("new_task", { code: card.code }),
                    PTSA.t("new_task_body", { service: card.service_name,
                                              name: card.applicant ? card.applicant.name : "" }),
                    "/permohonan/" + card.id);
      },
    });
    PTSA.board = board;
    wireActions(board);
    // The service filter only hides cards: live updates keep arriving for all of them.
    const only = document.getElementById("board-service");
    if (only) {
      only.addEventListener("change", () => {
        document.querySelectorAll("[data-list] [data-id]").forEach((el) => {
          el.hidden = Boolean(only.value && only.value !== el.getAttribute("data-service"));
        });
      });
    }
    let pending = null;
    const live = new PTSA.Live({
      channels: cfg.channels,
      onEvent: (frame) => {
        const card = cardOf(frame);
        if (card) board.apply(card, true);
        document.dispatchEvent(new CustomEvent("ptsa:event", { detail: frame }));
      },
      onResync: () => {
        // One reload for a burst of resubscriptions.
        clearTimeout(pending);
        board.reloadPending = true;
        pending = setTimeout(() => { board.reloadPending = false; board.reload(); }, 50);
      },
    });
    PTSA.live = live;
    live.start();
  });
})();
