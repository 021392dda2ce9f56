// Live updates and the reply length counter. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  // Weibo length: Latin-1 counts half, astral characters (emoji) count two, each URL counts ten.
  function weiboLength(text) {
    var units = 0;
    text = text.replace(/https?:\/\/[^\s\u3000]+/g, function () { units += 20; return ""; });
    for (var ch of text) {
      var cp = ch.codePointAt(0);
      units += cp <= 0xff ? 1 : cp > 0xffff ? 4 : 2;
    }
    return Math.ceil(units / 2);
  }
  // How each platform counts (the server names it in data-counting; it checks again itself).
  var measures = {
    weibo: weiboLength,
    utf8_bytes: function (text) { return new TextEncoder().encode(text).length; },
    chars: function (text) { return Array.from(text).length; }
  };
  document.querySelectorAll("textarea[data-limit]").forEach(function (area) {
    var counter = area.parentElement.querySelector(".counter");
    var limit = parseInt(area.dataset.limit, 10);
    var measure = measures[area.dataset.counting] || measures.chars;
    var unit = area.dataset.unit || "";
    var button = area.form ? area.form.querySelector("button[type=submit]") : null;
    function update() {
      var n = measure(area.value);
      var over = n > limit;
      if (counter) { counter.textContent = n + " / " + limit + " " + unit; counter.classList.toggle("over", over); }
      if (button) { button.disabled = over; }
    }
    area.addEventListener("input", update);
    update();
  });
  var live = document.querySelector("[data-live]");
  if (!live || !window.EventSource) { return; }
  var source = new EventSource("/events");
  var pending = null;
  source.onmessage = function (e) {
    var event;
    try { event = JSON.parse(e.data); } catch (err) { return; }
    var key = live.dataset.live;
    var ids = event.request_ids || (event.request_id ? [event.request_id] : []);
    var relevant = key === "requests" || ids.some(function (id) { return key === "request-" + id; });
    var typing = document.activeElement && document.activeElement.tagName === "TEXTAREA" && document.activeElement.value;
    if (relevant && !typing && !pending) {
      pending = setTimeout(function () { window.location.reload(); }, 800);
    }
  };
})();
