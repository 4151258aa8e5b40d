// Live updates: each live region names an SSE stream and the fragment to re-fetch. The stream
// sends the projection's stamp; when it differs from what is shown, fetch the fragment again.
// A stream ends every few seconds and EventSource reconnects; the first event after each
// (re)connect carries the current stamp, so a change during the gap is never missed.
(function () {
  "use strict";
  function watch(region) {
    var stamp = region.getAttribute("data-stamp");
    var busy = false;
    var source = new EventSource(region.getAttribute("data-events"));
    source.addEventListener("stamp", function (event) {
      if (event.data === stamp || busy) { return; }
      busy = true;
      var wanted = event.data;
      fetch(region.getAttribute("data-fragment"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { region.innerHTML = html; stamp = wanted; })
        .catch(function () { /* keep the old view; the next stamp retries */ })
        .then(function () { busy = false; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.EventSource) { return; }
    document.querySelectorAll("[data-events]").forEach(watch);
  });
})();
