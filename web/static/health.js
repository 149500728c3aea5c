// Draws the /admin/health charts with uPlot (web/static/vendor/uplot) from
// the JSON the page embeds (#health-charts, built by web/health.go). Every
// figure is also in the tables beside it, so the page reads without script.
(function () {
  "use strict";
  var colors = ["#1d4ed8", "#b45309", "#be123c", "#047857"];

  function unitFmt(unit) {
    return function (u, vals) {
      return vals.map(function (v) {
        if (v == null) { return ""; }
        var s = Math.abs(v) >= 100 ? v.toFixed(0) : +v.toFixed(2);
        return unit ? s + " " + unit : String(s);
      });
    };
  }

  function draw(el, c) {
    var width = Math.max(240, Math.min(el.clientWidth || 600, 900));
    var data = [c.x];
    var series = [{}];
    c.series.forEach(function (s, i) {
      data.push(s.values);
      var col = colors[i % colors.length];
      var o = { label: s.label, stroke: col, width: 2, spanGaps: false,
        value: function (u, v) { return v == null ? "—" : (+v.toFixed(2)) + (c.unit ? " " + c.unit : ""); } };
      if (s.bars) {
        o.fill = col + "99";
        o.paths = uPlot.paths.bars({ size: [0.6, 40] });
        o.points = { show: false };
      } else {
        o.points = { show: true, size: 5 };
      }
      series.push(o);
    });
    if (c.target != null) {
      data.push(c.x.map(function () { return c.target; }));
      series.push({ label: "target (" + c.target + (c.unit ? " " + c.unit : "") + ")", stroke: "#111827",
        width: 1.5, dash: [6, 4], points: { show: false } });
    }
    var opts = {
      width: width,
      height: 220,
      series: series,
      scales: { y: { range: function (u, min, max) {
        var lo = Math.min(0, min == null ? 0 : min), hi = Math.max(max == null ? 1 : max, c.target || 0) * 1.1;
        if (c.unit === "%") { hi = Math.min(Math.max(hi, 1), 110); }
        return [lo, hi || 1];
      } } },
      axes: [
        { label: "time (UTC)", stroke: "#374151" },
        { label: c.y_label + (c.unit ? " (" + c.unit + ")" : ""), stroke: "#374151", values: unitFmt(c.unit), size: 60,
          incrs: c.counts ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] : undefined }
      ],
      legend: { show: true, live: false }
    };
    el.textContent = "";
    var plot = new uPlot(opts, data, el);
    el.setAttribute("data-drawn", "true");
    el.uplot = plot; // tests read the axes it drew (labels are on the canvas)
    return plot;
  }

  function start() {
    var src = document.getElementById("health-charts");
    if (!src || typeof uPlot === "undefined") { return; }
    var charts = JSON.parse(src.textContent);
    var plots = [];
    charts.forEach(function (c) {
      var el = document.getElementById(c.id);
      if (el) { plots.push({ el: el, c: c, p: draw(el, c) }); }
    });
    var t;
    window.addEventListener("resize", function () {
      clearTimeout(t);
      t = setTimeout(function () {
        plots.forEach(function (x) { x.p.setSize({ width: Math.max(240, Math.min(x.el.clientWidth, 900)), height: 220 }); });
      }, 150);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
