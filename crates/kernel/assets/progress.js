// Live delivery progress on an alert's report: the table and counts update as deliveries go
// out (Server-Sent Events); without JavaScript a reload shows the same.
(function () {
  "use strict";
  var live = document.getElementById("live-progress");
  if (!live || !window.EventSource) return;
  new EventSource(live.dataset.events).addEventListener("progress", function (e) {
    var p = JSON.parse(e.data);
    // A relay or broker that cannot be reached: say so; deliveries wait and are retried.
    var down = document.getElementById("channels-down");
    if (down) {
      var any = false;
      Array.prototype.forEach.call(down.querySelectorAll("li"), function (li) {
        li.hidden = (p.unreachable || []).indexOf(li.dataset.channel) < 0;
        any = any || !li.hidden;
      });
      down.hidden = !any;
    }
    var acked = document.getElementById("report-acknowledged");
    if (acked) acked.textContent = String(p.acknowledged);
    var table = document.querySelector("#deliveries tbody");
    if (!table) return;
    // Channels and states in words, as the page wrote them (メール, 待機中), never codes.
    var words = document.getElementById("deliveries").dataset;
    var word = function (prefix, code) { return words[prefix + code.charAt(0).toUpperCase() + code.slice(1)] || code; };
    while (table.rows.length) table.deleteRow(0);
    p.deliveries.forEach(function (d) {
      var row = table.insertRow();
      var channel = row.insertCell();
      channel.dataset.channel = d.channel;
      channel.textContent = word("channel", d.channel);
      var state = row.insertCell();
      state.dataset.state = d.state;
      state.textContent = word("state", d.state);
      row.insertCell().textContent = String(d.n);
    });
  });
})();
