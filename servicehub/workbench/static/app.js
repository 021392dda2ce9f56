// The workbench's behaviour in the browser. No inline scripts: the CSP forbids them.
// - the reply length counter (and snippets that would make a reply too long);
// - live updates: queue rows change in place, the notification badge follows, the page of
//   one request / work order re-reads itself when it changed (unless you are typing);
// - snippets, @mentions, keyboard shortcuts and the "who else is here" heartbeat.
// Page scripts (publish.js) reuse the text measures (window.hub) and hear each live event as
// a "hub:live" DOM event.
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.dataset.csrf || "";
  var me = parseInt(body.dataset.user || "0", 10);

  // ---- how long a text is, as each platform counts it ------------------------------------
  // Weibo length, exactly as servicehub/adapters/weibo/text.py weibo_length counts it: in half
  // units, a code point up to U+00FF is one, the rest of the BMP two, above U+FFFF (emoji)
  // four, and every http(s) URL twenty (Weibo shortens it to a t.cn link). A URL is made of
  // RFC 3986 characters only: it ends at the first space or non-ASCII character. Rounded up.
  var WEIBO_URL = /https?:\/\/[A-Za-z0-9\-._~:\/?#\[\]@!$&'()*+,;=%]+/g;
  function weiboLength(text) {
    var units = 0;
    text = text.replace(WEIBO_URL, function () { units += 20; return ""; });
    for (var ch of text) {
      var cp = ch.codePointAt(0);
      units += cp <= 0xff ? 1 : cp > 0xffff ? 4 : 2;
    }
    return Math.floor((units + 1) / 2);
  }
  // How each platform counts (the server names it in data-counting; it checks again itself).
  var measures = {
    weibo: weiboLength,
    utf8_bytes: function (text) { return new TextEncoder().encode(text).length; },
    chars: function (text) { return Array.from(text).length; }
  };
  window.hub = { measures: measures };  // publish.js counts with the same measures
  function isOver(area) {
    if (!area.dataset.limit) { return false; }
    var measure = measures[area.dataset.counting] || measures.chars;
    return measure(area.value) > parseInt(area.dataset.limit, 10);
  }
  document.querySelectorAll("textarea[data-limit]").forEach(function (area) {
    var counter = area.parentElement.querySelector(".counter");
    var limit = parseInt(area.dataset.limit, 10);
    var measure = measures[area.dataset.counting] || measures.chars;
    var unit = area.dataset.unit || "";
    var button = area.form ? area.form.querySelector("button[type=submit]") : null;
    var warning = document.getElementById("snippet-warning");
    function update() {
      var n = measure(area.value);
      var over = n > limit;
      if (counter) { counter.textContent = n + " / " + limit + " " + unit; counter.classList.toggle("over", over); }
      if (button) { button.disabled = over; }
      if (warning && !over) { warning.hidden = true; }
    }
    area.addEventListener("input", update);
    update();
  });

  // ---- text helpers ------------------------------------------------------------------------
  function insertAtCursor(area, text) {
    var start = area.selectionStart == null ? area.value.length : area.selectionStart;
    var end = area.selectionEnd == null ? area.value.length : area.selectionEnd;
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    var at = start + text.length;
    area.focus();
    area.setSelectionRange(at, at);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function typing() {
    var el = document.activeElement;
    return !!el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type !== "checkbox") || el.tagName === "SELECT") && !!el.value;
  }
  function inField(el) {
    return !!el && (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.tagName === "SELECT" || el.isContentEditable);
  }

  // ---- snippets: search, insert (placeholders are filled by the server) --------------------
  var reply = document.getElementById("reply-text");
  var snippetSearch = document.getElementById("snippet-search");
  if (snippetSearch) {
    snippetSearch.addEventListener("input", function () {
      var q = snippetSearch.value.trim().toLowerCase();
      var shown = 0;
      document.querySelectorAll(".snippet-list li").forEach(function (li) {
        var hit = !q || (li.dataset.search || "").toLowerCase().indexOf(q) >= 0;
        li.hidden = !hit;
        shown += hit ? 1 : 0;
      });
      var none = document.getElementById("snippet-none");
      if (none) { none.hidden = shown > 0; }
    });
  }
  document.querySelectorAll("button.snippet").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!reply) { return; }
      insertAtCursor(reply, button.dataset.text || "");
      var warning = document.getElementById("snippet-warning");
      if (warning) { warning.hidden = !isOver(reply); }
      var details = button.closest("details");
      if (details) { details.open = false; }
    });
  });

  // ---- @mentions in notes ------------------------------------------------------------------
  var note = document.getElementById("note-text");
  document.querySelectorAll("button.mention").forEach(function (button) {
    button.addEventListener("click", function () {
      if (note) { insertAtCursor(note, button.dataset.mention + " "); }
    });
  });

  // ---- a due time defaults to N hours from now, China time (the server reads China time) ----
  document.querySelectorAll("input[type=datetime-local][data-default-hours]").forEach(function (input) {
    if (input.value) { return; }
    var hours = parseFloat(input.dataset.defaultHours) || 24;
    var china = new Date(Date.now() + (8 + hours) * 3600 * 1000);
    input.value = china.toISOString().slice(0, 16);
  });

  // ---- keyboard shortcuts on a request: N next, R reply, E E resolve ------------------------
  var page = document.querySelector("[data-request]");
  if (page) {
    var armed = null;
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || inField(e.target)) { return; }
      var key = e.key.toLowerCase();
      if (key === "n" && page.dataset.next) {
        e.preventDefault();
        window.location.href = page.dataset.next;
      } else if (key === "r" && reply) {
        e.preventDefault();
        reply.focus();
      } else if (key === "e") {
        var form = document.getElementById("resolve-form");
        var confirmText = document.getElementById("shortcut-confirm");
        if (!form) { return; }
        e.preventDefault();
        if (armed) {
          clearTimeout(armed);
          armed = null;
          form.submit();
        } else {
          if (confirmText) { confirmText.hidden = false; }
          armed = setTimeout(function () { armed = null; if (confirmText) { confirmText.hidden = true; } }, 3000);
        }
      }
    });
  }

  // ---- who else has this request open (a heartbeat every 15 s, kept in the database) --------
  var viewers = document.getElementById("viewers");
  if (page && viewers && csrf) {
    var beat = function () {
      var mode = reply && reply.value.trim() ? "replying" : "viewing";
      fetch("/api/requests/" + page.dataset.request + "/viewing", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ mode: mode })
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data) { return; }
        viewers.textContent = "";
        data.others.forEach(function (v) {
          var span = document.createElement("span");
          span.className = "viewer " + v.mode;
          span.textContent = v.text;
          viewers.appendChild(span);
        });
        viewers.hidden = data.others.length === 0;
      }).catch(function () {});
    };
    beat();
    setInterval(beat, 15000);
    if (reply) {
      var wasEmpty = !reply.value.trim();
      reply.addEventListener("input", function () {  // tell the others at once when I start typing
        var empty = !reply.value.trim();
        if (empty !== wasEmpty) { wasEmpty = empty; beat(); }
      });
    }
  }

  // ---- alerts: a chime and a desktop notification, if this browser's user wants them -------
  var ALERT_KEY = "hub.alerts";
  function alertsOn() { try { return localStorage.getItem(ALERT_KEY) === "on"; } catch (e) { return false; } }
  document.querySelectorAll("input[data-alert-toggle]").forEach(function (box) {
    box.checked = alertsOn();
    box.addEventListener("change", function () {
      try { localStorage.setItem(ALERT_KEY, box.checked ? "on" : "off"); } catch (e) { /* private mode */ }
      if (box.checked && window.Notification && Notification.permission === "default") {
        Notification.requestPermission();
      }
    });
  });
  function chime() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.08;
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.18);
    } catch (e) { /* no audio: fine */ }
  }
  function alertNew(rowHtml, id) {
    if (!alertsOn()) { return; }
    chime();
    if (window.Notification && Notification.permission === "granted") {
      var tmp = document.createElement("tbody");
      tmp.innerHTML = rowHtml;
      var subject = tmp.querySelector(".subject");
      new Notification("#" + id, { body: subject ? subject.textContent.trim() : "" });
    }
  }

  // ---- queue rows, updated in place ----------------------------------------------------------
  var tables = Array.prototype.slice.call(document.querySelectorAll("table[data-live-rows]"));
  var pendingIds = {};
  var rowTimer = null;
  function sortsBefore(p1, id1, p2, id2) { return p1 > p2 || (p1 === p2 && id1 < id2); }
  function patchTable(table, data) {
    var tbody = table.tBodies[0];
    var full = table.dataset.full === "1";
    data.gone.forEach(function (id) {
      var row = tbody.querySelector('tr[data-id="' + id + '"]');
      if (row) { row.remove(); }
    });
    data.rows.forEach(function (item) {
      var holder = document.createElement("tbody");
      holder.innerHTML = item.html.trim();
      var fresh = holder.firstElementChild;
      if (!fresh) { return; }
      var old = tbody.querySelector('tr[data-id="' + item.id + '"]');
      if (old) { old.remove(); }
      var rows = Array.prototype.slice.call(tbody.rows);
      var before = null;
      for (var i = 0; i < rows.length; i++) {
        var p = parseInt(rows[i].dataset.priority, 10), rid = parseInt(rows[i].dataset.id, 10);
        if (sortsBefore(item.priority, item.id, p, rid)) { before = rows[i]; break; }
      }
      if (!before && full && !old) { return; }  // belongs on a later page
      tbody.insertBefore(fresh, before);
      fresh.classList.add("fresh");
      setTimeout(function () { fresh.classList.remove("fresh"); }, 4000);
      if (!old) { alertNew(item.html, item.id); }
    });
    var scope = table.closest("section") || document;
    var count = scope.querySelector("[data-live-count]");
    if (count) { count.textContent = data.total_text; }
    var empty = table.nextElementSibling;
    if (empty && empty.classList.contains("empty")) { empty.hidden = tbody.rows.length > 0; }
  }
  function refreshRows() {
    rowTimer = null;
    var ids = Object.keys(pendingIds);
    pendingIds = {};
    if (!ids.length) { return; }
    tables.forEach(function (table) {
      var url = "/api/queue/rows?view=" + encodeURIComponent(table.dataset.liveRows) + "&ids=" + ids.join(",") +
        (table.dataset.compact ? "&compact=1" : "");
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) { patchTable(table, data); } })
        .catch(function () {});
    });
  }

  // ---- the notification badge ----------------------------------------------------------------
  var badge = document.getElementById("notif-count");
  function refreshBadge() {
    if (!badge) { return; }
    fetch("/api/notifications", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        badge.textContent = data.unread;
        badge.hidden = !data.unread;
      })
      .catch(function () {});
  }
  refreshBadge();

  // ---- the live stream ------------------------------------------------------------------------
  if (!me || !window.EventSource) { return; }
  var live = document.querySelector("[data-live]");
  var source = new EventSource("/events");
  var reloading = null;
  function reloadSoon() {
    if (reloading) { return; }
    reloading = setTimeout(function () {
      reloading = null;
      if (typing()) { return; }  // never throw away what someone is writing
      window.location.reload();
    }, 800);
  }
  // A reply on its way when the page was drawn may finish before the stream listens, and its
  // event would go unheard: such a page looks again a little later (once per load).
  if (live && /^request-/.test(live.dataset.live) &&
      document.querySelector(".out.queued, .out.sending, .out.retry")) {
    setTimeout(reloadSoon, 4000);
  }
  source.onopen = function () {  // (re)connected: what happened meanwhile was not heard
    refreshBadge();
    document.dispatchEvent(new CustomEvent("hub:live-open"));
  };
  source.onmessage = function (e) {
    var event;
    try { event = JSON.parse(e.data); } catch (err) { return; }
    document.dispatchEvent(new CustomEvent("hub:live", { detail: event }));  // for page scripts
    var ids = event.request_ids || (event.request_id ? [event.request_id] : []);
    if (event.type === "notification") {
      if ((event.user_ids || []).indexOf(me) >= 0) { refreshBadge(); }
      return;
    }
    if (tables.length && ids.length) {
      ids.forEach(function (id) { pendingIds[id] = true; });
      if (!rowTimer) { rowTimer = setTimeout(refreshRows, 300); }
    }
    if (!live) { return; }
    var key = live.dataset.live;
    var relevant =
      ids.some(function (id) { return key === "request-" + id; }) ||
      (event.work_order_id && key === "workorder-" + event.work_order_id) ||
      (event.type === "workorder" && key === "workorders") ||
      (event.type === "lead" && key === "leads");
    if (relevant) { reloadSoon(); }
  };
})();
