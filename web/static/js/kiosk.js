// PTSA Hub — the kiosk: one tap on a group takes a ticket and opens its printable slip.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const error = document.getElementById("kiosk-error");
  let busy = false;

  function t(key, vars) {
    return (data.strings[key] || key).replace(/%\((\w+)\)s/g, (_, n) => (vars && n in vars ? vars[n] : ""));
  }

  async function take(group) {
    if (busy) return; // one ticket per tap, however fast the fingers
    busy = true;
    error.hidden = true;
    try {
      const response = await fetch("/api/v1/queue/tickets", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "X-CSRF-Token": data.csrf },
        body: JSON.stringify({ group }),
      });
      const body = await response.json();
      if (response.status === 201) {
        location.href = "/antrean/tiket/" + body.id + "?ahead=" + body.ahead +
          "&wait=" + body.estimated_wait_minutes + "&print=1";
        return;
      }
      if (response.status === 401 || response.status === 403) { location.reload(); return; }
      const when = body.error && body.error.next_open ? new Intl.DateTimeFormat("id-ID", {
        timeZone: "Asia/Jakarta", weekday: "long", day: "numeric", month: "long",
        hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date(body.error.next_open)) : "";
      error.textContent = body.error && body.error.code === "closed" ? t("closed", { when }) : t("failed");
      error.hidden = false;
    } catch (e) {
      error.textContent = t("failed");
      error.hidden = false;
    } finally {
      busy = false;
    }
  }

  document.querySelectorAll(".kiosk-button").forEach((button) => {
    button.addEventListener("click", () => take(button.dataset.group));
  });
})();
