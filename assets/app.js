// Estimator's own script. The app works without it; it only adds copying links,
// following the server's "navigate" events on live pages (a stream whose
// session ended sends the browser to the sign-in page), times in the viewer's
// own zone, and telling live pages apart from what a page without script says.
(function () {
  "use strict";

  var localTime = window.Intl && new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });

  // Pages say "this page updates by itself" only when it does: with script.
  // Server times are written in UTC; here they are shown in local time, with
  // the UTC one kept as the tooltip.
  function enhance(root) {
    root.querySelectorAll(".when-live").forEach(function (el) { el.hidden = false; });
    root.querySelectorAll(".when-static").forEach(function (el) { el.hidden = true; });
    if (!localTime) return;
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      if (!el.title) el.title = el.textContent;
      el.textContent = localTime.format(d);
      el.removeAttribute("data-local");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:after:settle", function () {
    enhance(document);
  });

  function samePath(p) {
    return typeof p === "string" && p.charAt(0) === "/" && p.charAt(1) !== "/" && p.charAt(1) !== "\\";
  }

  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest && evt.target.closest("[data-copy]");
    if (!btn) return;
    var field = document.querySelector(btn.getAttribute("data-copy"));
    if (!field) return;
    var done = function () {
      var label = btn.textContent;
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        field.select();
      });
    } else {
      field.select();
      try { if (document.execCommand("copy")) done(); } catch (e) { /* selected for manual copy */ }
    }
  });

  // Named SSE events are dispatched as DOM events on the connected element.
  document.addEventListener("navigate", function (evt) {
    var path = evt.detail && evt.detail.data;
    if (samePath(path)) window.location.assign(path);
  });
})();
