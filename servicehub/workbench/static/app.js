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
  document.querySelectorAll("textarea[data-limit]").forEach(function (area) {
    var counter = area.parentElement.querySelector(".counter");
    var limit = parseInt(area.dataset.limit, 10);
    function update() {
      var n = weiboLength(area.value);
      if (counter) { counter.textContent = n + " / " + limit; counter.classList.toggle("over", n > limit); }
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
