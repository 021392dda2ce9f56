// 发布中心 in the browser. No inline scripts: the CSP forbids them.
// - compose: a counter per chosen account and target, counted as that platform counts
//   (window.hub.measures from app.js, named by the server in data-counting); a preview of
//   each target (a post card, a message bubble); the server's own check of the draft
//   (/api/publish/check) while typing, whose reasons show beside each account. The server
//   checks again on submit: all of this only helps.
// - monitor: one chart per sent post (reposts / comments / likes over time, vendored
//   ECharts), and the page re-reads /api/publications/<id> when a live event names it or
//   one of its accounts, when the live stream (re)connects, and on a clock: every 15 s (the
//   platform's counts change unannounced), every 2 s while a delivery is on its way.
// - forms with data-confirm ask first.
(function () {
  "use strict";
  // Times on the pages are China time (UTC+8, no summer time), whatever the browser's zone.
  var CHINA_MS = 8 * 3600 * 1000;
  var csrf = document.body.dataset.csrf || "";

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm)) { e.preventDefault(); }
    });
  });

  // A file field with words of the page's language (the browser's own says "No file chosen").
  document.querySelectorAll("input[data-file-input]").forEach(function (input) {
    var shown = input.closest(".file-pick").querySelector("[data-file-name]");
    input.addEventListener("change", function () {
      shown.textContent = input.files && input.files.length ? input.files[0].name : shown.dataset.none;
    });
  });

  // ---- compose ---------------------------------------------------------------------------
  var compose = document.getElementById("compose");
  if (compose) {
    var area = document.getElementById("pub-text");
    var measures = (window.hub && window.hub.measures) || {};
    var targets = Array.prototype.slice.call(compose.querySelectorAll(".target[data-account]"));
    var preview = document.getElementById("pub-preview");
    var warnings = document.getElementById("pub-warnings");
    var submitButton = document.getElementById("pub-submit");

    var chosen = function (target) {
      var found = {};
      var pick = target.querySelector("input[name=account]");
      if (!pick || !pick.checked) { return found; }
      target.querySelectorAll("[data-kind]").forEach(function (el) {
        var on = el.tagName === "SELECT" ? el.selectedOptions.length > 0 : el.checked;
        if (on) { found[el.dataset.kind] = true; }
      });
      return found;
    };

    var update = function () {
      var text = area.value;
      var shown = 0;
      targets.forEach(function (target) {
        var id = target.dataset.account;
        var kinds = chosen(target);
        target.classList.toggle("on", !!target.querySelector("input[name=account]:checked"));
        compose.querySelectorAll('.counter[data-for="' + id + '"]').forEach(function (counter) {
          var on = !!kinds[counter.dataset.target];
          counter.hidden = !on;
          if (!on) { return; }
          var measure = measures[counter.dataset.counting] || measures.chars || function (s) { return s.length; };
          var n = measure(text);
          counter.querySelector("[data-n]").textContent = n;
          counter.classList.toggle("over", n > parseInt(counter.dataset.limit, 10));
        });
        if (!preview) { return; }
        preview.querySelectorAll('.preview-item[data-for="' + id + '"]').forEach(function (item) {
          var on = !!kinds[item.dataset.target];
          item.hidden = !on;
          if (!on) { return; }
          shown += 1;
          item.querySelector("[data-preview-text]").textContent = text;
          var counter = compose.querySelector('.counter[data-for="' + id + '"][data-target="' + item.dataset.target + '"]');
          var count = item.querySelector("[data-preview-count]");
          if (count) {
            count.textContent = counter ? counter.querySelector("[data-count]").textContent : "";
            count.classList.toggle("over", !!counter && counter.classList.contains("over"));
          }
        });
      });
      if (preview) { preview.querySelector("[data-preview-empty]").hidden = shown > 0; }
      checkSoon();
    };

    // The server's check of the draft as it is now, shown beside each account.
    var checkTimer = null;
    var asked = 0;
    var showProblems = function (data) {
      var byAccount = {};
      warnings.textContent = "";
      (data.problems || []).forEach(function (p) {
        (byAccount[p.account_id] = byAccount[p.account_id] || []).push(p.message);
        var li = document.createElement("li");
        var who = document.createElement("strong");
        who.textContent = p.account;
        li.appendChild(who);
        li.appendChild(document.createTextNode("：" + p.message));
        warnings.appendChild(li);
      });
      var quiet = ["text_empty", "no_target"];  // said by the form itself as it is filled in
      if (data.error && quiet.indexOf(data.error.code) < 0) {
        var li = document.createElement("li");
        li.textContent = data.error.message;
        warnings.appendChild(li);
      }
      warnings.hidden = warnings.children.length === 0;
      compose.querySelectorAll("[data-problems-for]").forEach(function (list) {
        list.textContent = "";
        (byAccount[list.dataset.problemsFor] || []).forEach(function (message) {
          var li = document.createElement("li");
          li.textContent = message;
          list.appendChild(li);
        });
      });
    };
    var check = function () {
      checkTimer = null;
      var any = targets.some(function (t) { return Object.keys(chosen(t)).length > 0; });
      if (!area.value.trim() || !any) { showProblems({ problems: [] }); return; }
      var ticket = ++asked;
      fetch(compose.dataset.check, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf },
        body: new URLSearchParams(new FormData(compose)).toString()
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (data && ticket === asked) { showProblems(data); }
      }).catch(function () {});
    };
    var checkSoon = function () {
      if (checkTimer) { clearTimeout(checkTimer); }
      checkTimer = setTimeout(check, 400);
    };

    compose.addEventListener("input", update);
    compose.addEventListener("change", function (e) {
      var target = e.target.closest(".target");
      if (target && e.target.dataset.kind) {  // choosing what to send there picks the account
        var pick = target.querySelector("input[name=account]");
        var kinds = e.target.tagName === "SELECT" ? e.target.selectedOptions.length : e.target.checked;
        if (pick && kinds) { pick.checked = true; }
      }
      update();
    });
    compose.addEventListener("submit", function () {
      // the nonce already makes a second submit add nothing; this spares the round trip
      if (submitButton) { setTimeout(function () { submitButton.disabled = true; }, 0); }
    });
    update();
    warnings.hidden = true;  // the first live check replaces what the server rendered
  }

  // ---- monitor ---------------------------------------------------------------------------
  var monitor = document.getElementById("pub-monitor");
  if (!monitor) { return; }
  var publicationId = parseInt(monitor.dataset.publication, 10);
  var accounts = (monitor.dataset.accounts || "").split(",").filter(Boolean).map(Number);
  var labels = JSON.parse(document.getElementById("pub-labels").textContent);
  var chartsBox = document.getElementById("pub-charts");
  var charts = {};
  var COLOURS = { reposts: "#00838f", comments: "#6a1b9a", likes: "#c8161e" };

  var draw = function (series) {
    var empty = chartsBox.querySelector("[data-charts-empty]");
    if (empty) { empty.hidden = series.length > 0; }
    series.forEach(function (post) {
      var entry = charts[post.id];
      if (!entry) {
        var figure = document.createElement("figure");
        figure.className = "chart-box";
        var caption = document.createElement("figcaption");
        caption.textContent = labels.title.replace("{account}", post.account);
        var box = document.createElement("div");
        box.className = "chart pub-chart";
        box.id = "pub-chart-" + post.id;
        box.dataset.outbound = post.id;
        figure.appendChild(caption);
        figure.appendChild(box);
        chartsBox.appendChild(figure);
        entry = charts[post.id] = { box: box, chart: null };
      }
      if (!post.points.length) {
        entry.box.classList.add("no-data");
        entry.box.textContent = labels.no_samples;
        return;
      }
      if (!window.echarts) { return; }
      if (!entry.chart) {
        entry.box.classList.remove("no-data");
        entry.box.textContent = "";
        var locale = (document.documentElement.lang || "zh-CN").indexOf("zh") === 0 ? "ZH" : "EN";
        entry.chart = window.echarts.init(entry.box, null, { locale: locale, renderer: "canvas" });
        window.addEventListener("resize", function () { entry.chart.resize(); });
      }
      entry.chart.setOption({
        animation: false,
        useUTC: true,  // with the points moved to China time: the axis reads as the page does
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 48, right: 24, top: 40, bottom: 36 },
        xAxis: { type: "time", axisLabel: { hideOverlap: true } },
        yAxis: { type: "value", minInterval: 1 },
        series: ["reposts", "comments", "likes"].map(function (key, i) {
          return {
            name: labels[key], type: "line", symbolSize: 6, itemStyle: { color: COLOURS[key] },
            lineStyle: { color: COLOURS[key] },
            data: post.points.map(function (p) { return [p[0] + CHINA_MS, p[i + 1]]; })
          };
        })
      });
    });
  };
  draw(JSON.parse(document.getElementById("pub-series").textContent));

  var busy = false;
  var again = false;  // something changed while a read was on its way: read once more after it
  var typingHere = function () {
    var el = document.activeElement;
    return !!el && el.tagName === "TEXTAREA" && !!el.value;
  };
  // The next read on the clock: soon while a delivery is on its way, else every 15 s.
  var clock = null;
  var schedule = function (waiting) {
    if (clock) { clearTimeout(clock); }
    clock = setTimeout(refresh, waiting > 0 ? 2000 : 15000);
  };
  var done = function () {
    busy = false;
    if (again) { again = false; refresh(); }
  };
  var refresh = function () {
    if (busy) { again = true; return; }
    busy = true;
    fetch("/api/publications/" + publicationId, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        done();
        schedule(data ? data.waiting : 0);
        if (!data) { return; }
        if (data.state !== monitor.dataset.state) {  // approved, released, cancelled: new buttons
          if (!typingHere()) { window.location.reload(); }
          return;
        }
        document.getElementById("pub-deliveries").innerHTML = data.html.deliveries;
        document.getElementById("pub-reactions").innerHTML = data.html.reactions;
        draw(data.series);
      })
      .catch(function () { done(); schedule(0); });
  };
  var pending = null;
  var refreshSoon = function () {
    if (pending) { return; }
    pending = setTimeout(function () { pending = null; refresh(); }, 300);
  };
  var names = function (event, one, many) {
    return event[many] || (event[one] != null ? [event[one]] : []);
  };
  document.addEventListener("hub:live", function (e) {
    var event = e.detail || {};
    if (names(event, "publication_id", "publication_ids").indexOf(publicationId) >= 0) {
      refreshSoon();
    } else if (event.type !== "notification" && names(event, "account_id", "account_ids").some(function (a) {
      return accounts.indexOf(a) >= 0;
    })) {
      refreshSoon();  // something arrived on one of its accounts: perhaps a reply to it
    }
  });
  document.addEventListener("hub:live-open", refreshSoon);
  schedule(parseInt(monitor.dataset.waiting || "0", 10));
})();
