/*
 * Charts of the staff dashboards with Chart.js (served by the app). CSP-safe: no inline code; the data come
 * from the json_script "dashboard-charts" ({key: {type, labels, horizontal, stacked, format, datasets}}),
 * and every chart draws into <canvas data-chart="key">. The numbers are also in the table under each chart.
 * When all charts are drawn, <main> gets data-charts-rendered="<count>".
 */
(function () {
  "use strict";

  // Okabe-Ito, colour-blind safe.
  var COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"];

  function locale() {
    var lang = (document.documentElement.getAttribute("lang") || "id").toLowerCase();
    return lang.indexOf("en") === 0 ? "en-GB" : "id-ID";
  }

  function build(canvas, spec) {
    var numberFormat = new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 });
    var horizontal = !!spec.horizontal;
    var valueAxis = horizontal ? "x" : "y";
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true, stacked: !!spec.stacked,
      ticks: { precision: 0, callback: function (value) { return numberFormat.format(value); } },
    };
    scales[horizontal ? "y" : "x"] = {
      stacked: !!spec.stacked,
      ticks: {
        autoSkip: false,
        callback: function (value) {
          var label = String(this.getLabelForValue(value));
          return label.length > 28 ? label.slice(0, 27) + "…" : label;
        },
      },
    };
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set, i) {
          return {
            label: set.label, data: set.data, backgroundColor: COLOURS[i % COLOURS.length],
            borderColor: COLOURS[i % COLOURS.length], borderWidth: 1,
          };
        }),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: locale(),
        scales: scales,
        plugins: {
          legend: { display: spec.datasets.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = horizontal ? context.parsed.x : context.parsed.y;
                return context.dataset.label + ": " + numberFormat.format(value);
              },
            },
          },
        },
      },
    });
  }

  function start() {
    var node = document.getElementById("dashboard-charts");
    if (!node || typeof window.Chart === "undefined") { return; }
    var specs = JSON.parse(node.textContent || "{}");
    var canvases = document.querySelectorAll("canvas[data-chart]");
    var drawn = 0;
    for (var i = 0; i < canvases.length; i++) {
      var spec = specs[canvases[i].getAttribute("data-chart")];
      if (spec) {
        build(canvases[i], spec);
        canvases[i].setAttribute("data-rendered", "true");
        drawn += 1;
      }
    }
    var main = document.querySelector("main");
    if (main) { main.setAttribute("data-charts-rendered", String(drawn)); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
