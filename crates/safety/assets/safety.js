// The safety-check tally: counts per area update live (Server-Sent Events) as answers arrive.
// Without JavaScript a reload shows the same numbers.
(function () {
  "use strict";
  var total = document.getElementById("safety-total");
  if (!total || !window.EventSource) return;
  function fill(scope, t) {
    Array.prototype.forEach.call(scope.querySelectorAll("[data-key]"), function (el) {
      var v = t[el.dataset.key];
      if (v === undefined) return;
      el.textContent = el.dataset.key === "rate" ? v + "%" : String(v);
    });
  }
  new EventSource(total.dataset.live).addEventListener("tally", function (e) {
    var p = JSON.parse(e.data);
    fill(total, p.total);
    (p.areas || []).forEach(function (a) {
      var row = document.querySelector('#safety-areas tr[data-area="' + a.area_id + '"]');
      if (row) fill(row, a);
      // The map: the area's colour and its rate, as the server draws them.
      var shape = document.querySelector('#safety-map g[data-area="' + a.code + '"]');
      if (shape) {
        var path = shape.querySelector("path");
        var label = shape.querySelector("text");
        var rate = shape.querySelector("tspan.rate");
        var title = shape.querySelector("title");
        if (path) path.setAttribute("fill", a.fill);
        if (label) label.setAttribute("fill", a.ink);
        if (rate) rate.textContent = a.rate + "%";
        if (title) title.textContent = title.textContent.replace(/ \d+%.*$/, " " + a.rate + "%");
      }
    });
  });
})();
