// Live updates: when the organisation's timeline moves on, reload the page's main content,
// unless the reader is typing in a form (their input must never be lost).
(function () {
  var main = document.querySelector("main[data-live]");
  if (!window.EventSource || !main) return;
  // The newest event the page shows: a change made before the stream starts is told at once.
  var since = main.getAttribute("data-live");
  var source = new EventSource("/app/live" + (since ? "?since=" + encodeURIComponent(since) : ""));
  var busy = false;
  function typing() {
    var el = document.activeElement;
    return el && /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName);
  }
  source.addEventListener("changed", function () {
    if (busy || typing()) return;
    busy = true;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var current = document.querySelector("main");
        if (fresh && current && !typing()) {
          current.innerHTML = fresh.innerHTML;
          document.dispatchEvent(new CustomEvent("fireline:refreshed"));
        }
      })
      .finally(function () { busy = false; });
  });
  window.addEventListener("beforeunload", function () { source.close(); });
})();
