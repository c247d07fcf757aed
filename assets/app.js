// Estimator's own script. The app works without it; it only adds copying links,
// following the server's "navigate" events on live pages (a stream whose
// session ended goes to the sign-in page; the group moving to another issue
// takes its page there), moving a room in place when the group moves on (the
// "move" event), times in the viewer's own zone, telling live pages
// apart from what a page without script says, keys 1–9 for the cards, the
// countdown, fetching the cards again when the round they belong to changes,
// keeping a fold as the person left it across live updates, and disabling a
// plain form's buttons once it is sent.
(function () {
  "use strict";

  // The server's one format for a moment in the page's language ("6 Dec
  // 2026, 19:35 UTC", "6. Dez. 2026, 19:35 UTC"; its pattern is on <html>),
  // in the viewer's zone ("7 Dec 2026, 04:35 GMT+9"): the same shape on every
  // page.
  var html = document.documentElement;
  var pattern = html.getAttribute("data-datetime") || "{{.Day}} {{.Month}} {{.Year}}, {{.Time}} UTC";
  var timeParts;
  try {
    timeParts = window.Intl && new Intl.DateTimeFormat(html.lang || "en-GB", {
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
    });
  } catch (e) { timeParts = null; }
  var localTime = timeParts && timeParts.formatToParts && {
    format: function (d) {
      var p = {};
      timeParts.formatToParts(d).forEach(function (part) { p[part.type] = part.value; });
      return pattern.replace("{{.Day}}", p.day).replace("{{.Month}}", p.month).replace("{{.Year}}", p.year)
        .replace("{{.Time}}", p.hour + ":" + p.minute).replace("UTC", p.timeZoneName);
    }
  };

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

  // A fold the person opened or closed (the room's backlog on a phone) stays
  // as they left it when a live update morphs the page: its state is noted
  // before each swap and put back after.
  var folds = {};
  document.addEventListener("htmx:before:swap", function () {
    document.querySelectorAll("details[data-keep-open][id]").forEach(function (d) { folds[d.id] = d.open; });
  });
  document.addEventListener("htmx:after:swap", function () {
    Object.keys(folds).forEach(function (id) {
      var d = document.getElementById(id);
      if (d && d.open !== folds[id]) d.open = folds[id];
    });
    folds = {};
  });

  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest && evt.target.closest("[data-copy]");
    if (!btn) return;
    var field = document.querySelector(btn.getAttribute("data-copy"));
    if (!field) return;
    var done = function () {
      var label = btn.textContent;
      btn.textContent = btn.getAttribute("data-copied") || "Copied";
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

  // A plain form (one htmx does not send) disables its buttons once sent, as
  // htmx forms do while in flight (hx-disable): a second click would send it
  // again. Disabled just after the submit, so the pressed button's value still
  // goes; back to the page from the browser's cache, they work again.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (evt.defaultPrevented || form.method !== "post" || form.hasAttribute("hx-post")) return;
    setTimeout(function () {
      form.querySelectorAll("button:not([disabled])").forEach(function (b) {
        b.disabled = true;
        b.setAttribute("data-sent", "");
      });
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[data-sent]").forEach(function (b) {
      b.disabled = false;
      b.removeAttribute("data-sent");
    });
  });

  // The page's own name for itself, made up when it loads: sent with every
  // htmx request, its event stream included, so that the cards a vote's
  // answer brings are not sent to this page's stream again (its other tabs
  // get them there).
  var tab = (function () {
    var bytes = new Uint8Array(12), out = "";
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    for (var j = 0; j < bytes.length; j++) out += (bytes[j] < 16 ? "0" : "") + bytes[j].toString(16);
    return out;
  })();
  document.addEventListener("htmx:config:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    if (ctx && ctx.request && ctx.request.headers) ctx.request.headers["X-Estimator-Tab"] = tab;
  });

  // Named SSE events are dispatched as DOM events on the connected element.
  document.addEventListener("navigate", function (evt) {
    var path = evt.detail && evt.detail.data;
    if (samePath(path)) window.location.assign(path);
  });

  // The group moved to another issue: the room's stream stays open and sends
  // the new room's head and cards (the same for everyone in a seat; a vote
  // given there ahead follows, and the live part as the next update). They
  // take the old ones' places; the address becomes the new room's (back
  // loads the room left), and the focus goes to its heading, so that a
  // screen reader says where the page is now.
  document.addEventListener("move", function (evt) {
    var data = evt.detail && evt.detail.data;
    if (typeof data !== "string") return;
    var tpl = document.createElement("template");
    tpl.innerHTML = data;
    var head = tpl.content.getElementById("room-head");
    var path = head && head.getAttribute("data-path");
    if (!samePath(path) || !document.getElementById("room-head")) return;
    ["room-head", "estimate-panel"].forEach(function (id) {
      var now = document.getElementById(id), next = tpl.content.getElementById(id);
      if (!now || !next) return;
      now.replaceWith(next);
      if (window.htmx) htmx.process(next);
      enhance(next);
    });
    if (location.pathname !== path) history.pushState({ room: path }, "", path);
    document.title = head.getAttribute("data-title") || document.title;
    var h1 = document.querySelector("#room-head h1");
    if (h1) h1.focus();
  });
  // A facilitator's start (data-moves-to) moves this page with everyone's,
  // over its stream; if the page has not moved there a few seconds after the
  // answer (its stream is down), it goes there itself.
  document.addEventListener("htmx:after:request", function (evt) {
    var form = evt.target && evt.target.closest && evt.target.closest("form[data-moves-to]");
    var path = form && form.getAttribute("data-moves-to");
    var res = evt.detail && evt.detail.ctx && evt.detail.ctx.response;
    if (!samePath(path) || !res || res.status >= 400) return; // a refused start moves nobody
    setTimeout(function () {
      if (location.pathname !== path) window.location.assign(path);
    }, 3000);
  });

  // Back (or forward) to a room the page moved away from in place: load it.
  window.addEventListener("popstate", function () {
    var head = document.getElementById("room-head");
    if (head && head.getAttribute("data-path") !== location.pathname) location.reload();
  });

  // Keys 1–9 pick the n-th card of the room, unless the person is typing.
  document.addEventListener("keydown", function (evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey || evt.isComposing) return;
    if (evt.key.length !== 1 || evt.key < "1" || evt.key > "9") return;
    var t = evt.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var card = document.querySelector('#estimate-panel [data-card="' + evt.key + '"]');
    if (!card || card.disabled) return;
    evt.preventDefault();
    card.focus();
    card.click();
  });

  // The countdown: the server sends when it ends; the page's own clock is
  // corrected by the server's time at load (data-now on #live).
  var offset = 0;
  function readOffset() {
    var live = document.getElementById("live");
    var now = live && Number(live.getAttribute("data-now"));
    if (now) offset = now - Date.now();
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var nodes = document.querySelectorAll("[data-ends-at]");
    for (var i = 0; i < nodes.length; i++) {
      var left = Math.max(0, Math.ceil((Number(nodes[i].getAttribute("data-ends-at")) - (Date.now() + offset)) / 1000));
      var text = Math.floor(left / 60) + ":" + pad(left % 60);
      if (nodes[i].textContent !== text) nodes[i].textContent = text;
    }
  }
  document.addEventListener("DOMContentLoaded", function () { readOffset(); tick(); });
  setInterval(tick, 250);

  // After a live update, the cards are fetched again when the round they were
  // drawn for is over (a reveal, a new round, another deck); the own vote of an
  // open round is never overwritten by what everyone sees.
  function refreshCards() {
    var status = document.getElementById("status");
    var panel = document.getElementById("estimate-panel");
    if (!status || !panel || !window.htmx) return;
    // A change this page sent from the room (a reveal, a new round) is on its
    // way: its answer brings the cards with it; looked at again once it is
    // all in place.
    if (roomRequests > 0) return;
    var phase = status.getAttribute("data-phase");
    if (!phase || phase === panel.getAttribute("data-phase") || panel.getAttribute("data-fetching") === phase) return;
    panel.setAttribute("data-fetching", phase);
    htmx.ajax("GET", panel.getAttribute("data-refresh"), { target: "#estimate-panel", swap: "outerHTML" });
  }
  // Only a live update of the room (an event on #live) does it: the cards' own
  // answers never start another fetch.
  document.addEventListener("htmx:after:swap", function (evt) {
    tick();
    if (evt.target && evt.target.id === "live") refreshCards();
  });
  // The requests sent from inside the room (its forms, not its stream) that
  // have not ended: htmx swaps an answer's parts one after another, the
  // room's state before the cards, and the request ends after the last.
  var roomRequests = 0;
  document.addEventListener("htmx:before:request", function (evt) {
    var live = document.getElementById("live");
    var ctx = evt.detail && evt.detail.ctx;
    if (!ctx || !live || evt.target === live || !live.contains(evt.target)) return;
    ctx.estimatorRoom = true;
    roomRequests++;
  });
  document.addEventListener("htmx:finally:request", function (evt) {
    var ctx = evt.detail && evt.detail.ctx;
    if (!ctx || !ctx.estimatorRoom) return;
    ctx.estimatorRoom = false;
    roomRequests = Math.max(0, roomRequests - 1);
    refreshCards();
  });
})();
