/* Identa console: draws the charts a page declares, on load and after every htmx swap.
 *
 * A chart is a <canvas data-chart='{"type": "line", "data": {...}, "options": {...}}'>: the
 * attribute holds a Chart.js configuration as JSON (no inline script, so the CSP stays strict).
 */
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.Chart || !root.querySelectorAll) {
      return;
    }
    var canvases = root.matches && root.matches("canvas[data-chart]")
      ? [root]
      : root.querySelectorAll("canvas[data-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var config;
      try {
        config = JSON.parse(canvas.getAttribute("data-chart"));
      } catch (error) {
        canvas.setAttribute("data-chart-error", "invalid JSON");
        return;
      }
      var existing = window.Chart.getChart(canvas);
      if (existing) {
        existing.destroy();
      }
      config.options = config.options || {};
      if (config.options.responsive === undefined) {
        config.options.responsive = true;
      }
      new window.Chart(canvas, config);
    });
  }

  window.identaConsole = { drawCharts: drawCharts };

  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      // htmx.onLoad runs for the document and for each piece of content swapped in later.
      window.htmx.onLoad(drawCharts);
    } else {
      drawCharts(document);
    }
  });
})();
