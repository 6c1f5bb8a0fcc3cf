// PTSA Hub — the hall display (/layar): the number called at each counter, the last calls, the
// waiting counts, the running text; a chime and an Indonesian voice for each new call.
//
// Voice rule: a call is spoken once, when it arrives live: its event is newer than the newest
// call already shown, not replayed history, and recent (CALL_FRESH_MS by the server's clock).
// After a network blip the hub replays the missed events: they update the screen but are not
// spoken (the people called while the screen was away were called by the counter meanwhile).
(function () {
  "use strict";
  const PTSA = window.PTSA;
  const CALL_FRESH_MS = 8000;
  const LAST_CALLS = 8;
  let newestShown = 0; // server time (ms) of the newest call on screen
  let voice = null;
  const queue = [];
  let speaking = false;

  function pickVoice() {
    if (!("speechSynthesis" in window)) return;
    const voices = window.speechSynthesis.getVoices() || [];
    voice = voices.find((v) => /^id(-|_|$)/i.test(v.lang)) || null;
  }

  function speakNext() {
    if (speaking || !queue.length) return;
    speaking = true;
    const text = queue.shift();
    const done = () => { speaking = false; setTimeout(speakNext, 400); };
    const chime = document.getElementById("chime");
    let spoken = false;
    const say = () => {
      if (spoken) return;
      spoken = true;
      // Without an Indonesian voice the chime alone calls: another language's voice would
      // mispronounce the announcement.
      if (!voice || !("speechSynthesis" in window)) { done(); return; }
      const u = new SpeechSynthesisUtterance(text);
      u.lang = "id-ID";
      try { u.voice = voice; } catch (e) { /* lang alone picks it */ }
      u.rate = 0.9;
      u.onend = done;
      u.onerror = done;
      window.speechSynthesis.speak(u);
      setTimeout(() => { if (speaking) done(); }, 15000);
    };
    try {
      chime.currentTime = 0;
      chime.onended = say;
      const played = chime.play();
      if (played && played.catch) played.catch(say);
    } catch (e) {
      say();
    }
    setTimeout(say, 1500); // the chime is 0.9 s; never wait on a missing "ended"
  }

  function label(counter) { return String(counter || "").replace(/-/g, " ").toUpperCase(); }

  function setWaiting(waiting) {
    if (!waiting) return;
    document.querySelectorAll("#waiting li").forEach((li) => {
      if (li.dataset.group in waiting) li.querySelector(".count").textContent = waiting[li.dataset.group];
    });
  }

  function showCall(ticket, counter) {
    const box = document.querySelector('.layar-counter[data-counter="' + counter + '"] .layar-number');
    if (box) {
      box.textContent = ticket.number;
      box.parentElement.classList.remove("flash");
      void box.parentElement.offsetWidth;
      box.parentElement.classList.add("flash");
    }
    const list = document.getElementById("last-calls");
    const li = document.createElement("li");
    const b = document.createElement("b");
    b.textContent = ticket.number;
    li.appendChild(b);
    li.appendChild(document.createTextNode(" → " + label(counter)));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > LAST_CALLS) list.removeChild(list.lastChild);
  }

  function applySnapshot(snapshot) {
    for (const c of snapshot.counters) {
      const box = document.querySelector('.layar-counter[data-counter="' + c.counter + '"] .layar-number');
      if (box) box.textContent = c.ticket ? c.ticket.number : "–";
    }
    const list = document.getElementById("last-calls");
    list.textContent = "";
    for (const t of snapshot.last_calls) {
      const li = document.createElement("li");
      const b = document.createElement("b");
      b.textContent = t.number;
      li.appendChild(b);
      li.appendChild(document.createTextNode(" → " + label(t.counter)));
      list.appendChild(li);
      newestShown = Math.max(newestShown, Date.parse(t.last_called_at) || 0);
    }
    const waiting = {};
    for (const g of snapshot.groups) waiting[g.code] = g.waiting;
    setWaiting(waiting);
    document.getElementById("running-text").textContent = snapshot.running_text || "";
  }

  function onEvent(frame) {
    const data = frame.data || {};
    setWaiting(data.waiting);
    if (frame.type === "hall.text") {
      document.getElementById("running-text").textContent = data.text || "";
    } else if (frame.type === "queue.called") {
      const at = Date.parse(data.ticket.last_called_at) || 0;
      // Replayed after a blip (frame.replay, live.js) or stale: shown, never spoken.
      const fresh = !frame.replay && PTSA.now() - at < CALL_FRESH_MS;
      const newer = at > newestShown;
      showCall(data.ticket, data.counter);
      if (newer) {
        newestShown = at;
        if (fresh) { queue.push(data.announcement); speakNext(); }
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const config = PTSA.pageData();
    PTSA.config = config;
    PTSA.syncClock(config.server_now);
    PTSA.signedOut = () => location.reload(); // a revoked display shows its refusal page
    applySnapshot(config.snapshot);
    pickVoice();
    if ("speechSynthesis" in window) window.speechSynthesis.onvoiceschanged = pickVoice;
    const live = new PTSA.Live({
      channels: config.channels,
      onEvent,
      // History could not fill a gap (or first subscription): the state from HTTP, no voice.
      onResync: () => PTSA.getJSON("/api/v1/queue").then(applySnapshot, () => {}),
    });
    live.start();
    PTSA.display = { live, announced: () => newestShown };
  });
})();
