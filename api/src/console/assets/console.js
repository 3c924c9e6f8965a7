// evgate console: parts of a page marked data-refresh="URL" reload their
// HTML from URL every few seconds (data-every, in ms), so live status shows
// without reloading. A session that ended sends the browser to sign in.
"use strict";
document.querySelectorAll("[data-refresh]").forEach((el) => {
  const every = Number(el.dataset.every || 2000);
  const tick = async () => {
    try {
      const r = await fetch(el.dataset.refresh, { credentials: "same-origin" });
      if (r.redirected) {
        window.location.assign(r.url);
        return;
      }
      if (r.ok) {
        const html = await r.text();
        if (el.innerHTML !== html) el.innerHTML = html;
        el.dataset.refreshedAt = String(Date.now());
      }
    } catch (_) {
      // Offline for a moment: the next tick tries again.
    }
    window.setTimeout(tick, every);
  };
  window.setTimeout(tick, every);
});
// Forms that change something ask first when they say so.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (e) => {
    if (!window.confirm(form.dataset.confirm)) e.preventDefault();
  });
});
