// Analytics charts: each .chart element names a JSON data block (spec) the server rendered;
// this draws it with the vendored ECharts. A click on a bar, point or slice opens the rows
// behind it; a click on a fan in the relationship graph opens the customer. The same figures
// are in the table under each chart. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  if (!window.echarts) { return; }
  var locale = (document.documentElement.lang || "zh-CN").indexOf("zh") === 0 ? "ZH" : "EN";
  var MOODS = { account: "#1f4e79", negative: "#c62828", neutral: "#90a4ae", positive: "#2e7d32" };
  var TIES = { interaction: "#b0bec5", follow: "#1f4e79", mention: "#ef6c00", reply: "#6a1b9a", repost: "#00838f" };
  // Series whose meaning has a colour people expect (sentiment, gained / lost fans).
  var COLOURS = {
    "analytics.sentiment.positive": "#2e7d32", "analytics.sentiment.neutral": "#90a4ae",
    "analytics.sentiment.negative": "#c62828", "analytics.sentiment.none": "#cfd8dc",
    "analytics.fans.gained": "#2e7d32", "analytics.fans.lost": "#c62828",
    "analytics.col.sla_missed": "#c62828"
  };

  function axisName(spec, i) { return spec.units && spec.units[i] ? spec.units[i] : ""; }

  function cartesian(spec, horizontal) {
    var axes = spec.units && spec.units.length > 1 ? [0, 1] : [0];
    var linesOnly = spec.series.every(function (s) { return s.type === "line"; });
    var valueAxes = axes.map(function (i) {
      return {
        type: "value", name: axisName(spec, i), nameGap: 8, minInterval: 1, splitLine: { show: i === 0 },
        scale: linesOnly  // follower counts in the tens of thousands: do not start at zero
      };
    });
    var categoryAxis = { type: "category", data: spec.categories, axisLabel: { hideOverlap: true } };
    if (horizontal) { categoryAxis.inverse = true; categoryAxis.axisLabel.width = 120; categoryAxis.axisLabel.overflow = "truncate"; }
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0, type: "scroll" },
      grid: { left: horizontal ? 130 : 64, right: axes.length > 1 ? 56 : 24, top: 56, bottom: 40, containLabel: false },
      xAxis: horizontal ? valueAxes[0] : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxes,
      series: spec.series.map(function (s) {
        var one = { name: s.name, type: s.type === "line" ? "line" : "bar", data: s.data, emphasis: { focus: "series" } };
        if (COLOURS[s.key]) { one.itemStyle = { color: COLOURS[s.key] }; one.lineStyle = { color: COLOURS[s.key] }; }
        if (s.stack) { one.stack = s.stack; }
        if (!horizontal && axes.length > 1) { one.yAxisIndex = s.axis || 0; }
        if (one.type === "line") { one.connectNulls = false; one.symbolSize = 6; }
        return one;
      })
    };
  }

  function pie(spec) {
    var s = spec.series[0] || { data: [] };
    return {
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { type: "scroll", bottom: 0 },
      series: [{
        name: s.name, type: "pie", radius: ["35%", "65%"],
        data: spec.categories.map(function (c, i) { return { name: c, value: s.data[i] }; }),
        label: { formatter: "{b}\n{c}" }
      }]
    };
  }

  function graph(spec) {
    var g = spec.graph;
    var categories = g.category_keys.map(function (key, i) {
      return { name: g.categories[i], itemStyle: { color: MOODS[key] || "#888" } };
    });
    return {
      tooltip: {
        formatter: function (p) {
          if (p.dataType === "edge") { return p.data.label + " × " + p.data.value; }
          return p.data.name + (p.data.value ? " · " + p.data.value : "");
        }
      },
      legend: [{ data: categories.map(function (c) { return c.name; }), top: 0 }],
      series: [{
        type: "graph", layout: "force", roam: true, draggable: true,
        force: { repulsion: 420, edgeLength: [90, 240], gravity: 0.05, layoutAnimation: true },
        categories: categories,
        label: { show: true, position: "right", formatter: "{b}", fontSize: 11 },
        labelLayout: { hideOverlap: true },
        emphasis: { focus: "adjacency" },
        edgeSymbol: ["none", "arrow"], edgeSymbolSize: 6,
        data: g.nodes.map(function (n) {
          return {
            id: n.id, name: n.name, value: n.value, symbolSize: n.symbolSize, href: n.href,
            category: g.category_keys.indexOf(n.category)
          };
        }),
        links: g.links.map(function (l) {
          return {
            source: l.source, target: l.target, value: l.value, label: l.label,
            lineStyle: {
              color: TIES[l.kind] || "#999", type: l.kind === "follow" ? "dashed" : "solid",
              width: Math.min(6, 1 + Math.log(1 + l.value)), curveness: l.kind === "interaction" ? 0 : 0.2
            }
          };
        })
      }]
    };
  }

  function hasData(spec) {
    if (spec.graph) { return spec.graph.nodes.length > 0; }
    return spec.series.some(function (s) { return s.data.some(function (v) { return v; }); });
  }

  document.querySelectorAll(".chart[data-spec]").forEach(function (el) {
    var block = document.getElementById(el.dataset.spec);
    if (!block) { return; }
    var spec = JSON.parse(block.textContent);
    if (!hasData(spec)) {
      el.classList.add("no-data");
      el.textContent = spec.empty;
      return;
    }
    var chart = window.echarts.init(el, null, { locale: locale, renderer: "canvas" });
    var option = spec.kind === "graph" ? graph(spec) : spec.kind === "pie" ? pie(spec) : cartesian(spec, spec.kind === "hbar");
    option.animation = false;
    chart.setOption(option);
    chart.on("click", function (p) {
      var href = null;
      if (spec.kind === "graph") { href = p.dataType === "node" ? p.data.href : null; }
      else if (spec.links[p.seriesIndex]) { href = spec.links[p.seriesIndex][p.dataIndex]; }
      if (href) { window.location.href = href; }
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
