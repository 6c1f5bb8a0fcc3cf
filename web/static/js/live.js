// PTSA Hub — the live connection: one WebSocket to /ws speaking docs/PROTOCOL.md.
//
// * subscribes to the page's channels; keeps {offset, epoch} per channel;
// * after a reconnect (exponential back-off with jitter) it resubscribes with since/epoch, so the
//   hub replays exactly what was missed; when the hub answers recovered:false (history trimmed,
//   Redis restarted, epoch changed) the page is told to reload its data over HTTP (onResync);
// * the first subscription of a page load also triggers onResync: the server-rendered page may
//   be older than the subscription, and one HTTP reload closes that gap;
// * de-duplicates on the global event id (one event reaches several channels, and a replay may
//   repeat what arrived live);
// * shows the connection state in #conn.
(function () {
  "use strict";
  const PTSA = (window.PTSA = window.PTSA || {});

  const PING_EVERY_MS = 25000;
  const SILENCE_LIMIT_MS = 60000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const SEEN_LIMIT = 2000;

  // Offsets are Redis stream ids ("1732700000000-3") or plain numbers: compare part by part.
  function compareOffsets(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined) return -1;
    if (b === null || b === undefined) return 1;
    const pa = String(a).split("-").map(Number), pb = String(b).split("-").map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      const x = pa[i] || 0, y = pb[i] || 0;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }

  class Live {
    constructor(options) {
      this.channels = options.channels || [];
      this.onEvent = options.onEvent || (() => {});
      this.onResync = options.onResync || (() => {});
      this.state = new Map(); // channel -> {offset, epoch, subscribed}
      this.seen = new Set();
      this.seenOrder = [];
      this.attempt = 0;
      this.socket = null;
      this.stopped = false;
      this.lastMessageAt = 0;
      this.timers = {};
      this.indicator = document.getElementById("conn");
      window.addEventListener("online", () => this.reconnectSoon(0));
      window.addEventListener("offline", () => { if (this.socket) this.socket.close(); });
    }

    start() {
      this.connect();
      this.timers.ping = setInterval(() => this.keepAlive(), PING_EVERY_MS / 5);
    }

    setStatus(status) {
      this.status = status;
      if (!this.indicator) return;
      this.indicator.className = "conn conn-" + status;
      this.indicator.setAttribute("data-status", status);
      const text = this.indicator.querySelector(".conn-text");
      if (text) text.textContent = PTSA.t("conn." + status);
    }

    url() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      return scheme + "//" + location.host + "/ws";
    }

    connect() {
      if (this.stopped) return;
      this.setStatus("connecting");
      let socket;
      try {
        socket = new WebSocket(this.url());
      } catch (e) {
        this.scheduleReconnect();
        return;
      }
      this.socket = socket;
      socket.onopen = () => {
        this.lastMessageAt = Date.now();
        for (const channel of this.channels) this.subscribe(channel);
      };
      socket.onmessage = (message) => {
        this.lastMessageAt = Date.now();
        let frame;
        try { frame = JSON.parse(message.data); } catch (e) { return; }
        this.handle(frame);
      };
      socket.onclose = (event) => {
        if (this.socket !== socket) return;
        this.socket = null;
        for (const s of this.state.values()) s.subscribed = false;
        this.setStatus("offline");
        // 1013 (try again later): this hub process holds PTSA_WS_MAX_CONNECTIONS sockets. Not
        // a sign-in matter: retry like 1012 and 1006, but not at once (first retry after 1-2 s),
        // which gives the balancer the ~2 s it takes to stop sending new sockets to a full hub.
        if (event.code === 1013) this.attempt = Math.max(this.attempt, 2);
        // 4xxx / 1008: the hub closed us on purpose (signed out, account revoked): check the
        // session before retrying, so a revoked screen does not hammer the hub.
        if (event.code === 1008 || (event.code >= 4000 && event.code < 5000)) {
          PTSA.getJSON("/api/v1/me").then(() => this.scheduleReconnect(), () => {});
          return;
        }
        this.scheduleReconnect();
      };
      socket.onerror = () => { /* onclose follows and schedules the retry */ };
    }

    subscribe(channel) {
      const s = this.state.get(channel);
      this.send({ op: "subscribe", channel,
                  since: s && s.offset !== undefined ? s.offset : null,
                  epoch: s && s.epoch !== undefined ? s.epoch : null });
    }

    send(frame) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify(frame));
      }
    }

    handle(frame) {
      switch (frame.op) {
        case "subscribed": {
          const before = this.state.get(frame.channel);
          const first = !before || before.offset === undefined || before.offset === null;
          const epochChanged = !first && before.epoch !== null && before.epoch !== undefined &&
            before.epoch !== frame.epoch;
          const recovered = !first && frame.recovered === true && !epochChanged;
          const s = before || {};
          // Recovered: keep our offset; the missed events follow and advance it one by one.
          // Not recovered (or first): start from the hub's current offset and reload over HTTP.
          if (!recovered) s.offset = frame.offset;
          s.head = frame.offset; // events up to here are replayed history (frame.replay)
          s.epoch = frame.epoch;
          s.subscribed = true;
          this.state.set(frame.channel, s);
          this.attempt = 0;
          if (this.allSubscribed()) this.setStatus("online");
          if (!recovered) this.onResync(frame.channel);
          break;
        }
        case "event": {
          const s = this.state.get(frame.channel);
          frame.replay = !!(s && compareOffsets(frame.offset, s.head) <= 0);
          if (s && compareOffsets(frame.offset, s.offset) > 0) s.offset = frame.offset;
          if (frame.id && this.seen.has(frame.id)) return;
          if (frame.id) this.remember(frame.id);
          try { this.onEvent(frame); } catch (e) { console.error(e); }
          break;
        }
        case "error":
          if (frame.code === "unauthenticated" || frame.code === "revoked" ||
              frame.code === "session_expired") {
            this.stopped = true;
            PTSA.signedOut();
          } else {
            console.warn("hub error", frame);
          }
          break;
        default:
          break; // pong and future frames
      }
    }

    remember(id) {
      this.seen.add(id);
      this.seenOrder.push(id);
      if (this.seenOrder.length > SEEN_LIMIT) this.seen.delete(this.seenOrder.shift());
    }

    allSubscribed() {
      return this.channels.every((c) => this.state.get(c) && this.state.get(c).subscribed);
    }

    keepAlive() {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
      const quiet = Date.now() - this.lastMessageAt;
      if (quiet > SILENCE_LIMIT_MS) {
        this.socket.close(); // a half-open connection: start over
      } else if (quiet > PING_EVERY_MS) {
        this.send({ op: "ping" });
      }
    }

    scheduleReconnect() {
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
      this.attempt += 1;
      this.reconnectSoon(base / 2 + Math.random() * base / 2);
    }

    reconnectSoon(delay) {
      if (this.stopped) return;
      clearTimeout(this.timers.reconnect);
      if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
      this.timers.reconnect = setTimeout(() => this.connect(), delay);
    }
  }

  PTSA.Live = Live;
  PTSA.compareOffsets = compareOffsets;
})();
