// Estimator's own script. The app works without it; it only adds copying links
// and following the server's "navigate" events on live pages (a stream whose
// session ended sends the browser to the sign-in page).
(function () {
  "use strict";

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
