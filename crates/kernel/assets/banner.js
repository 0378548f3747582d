// A banner on every page while an alert is in force for the person's area (live, over SSE).
(function () {
  "use strict";
  var banner = document.getElementById("alert-banner");
  if (!banner || !window.EventSource) return;
  var shown = {};
  function render() {
    var ids = Object.keys(shown);
    if (!ids.length) {
      banner.hidden = true;
      return;
    }
    var a = shown[ids[ids.length - 1]];
    banner.textContent = (a.drill ? banner.dataset.labelDrill : banner.dataset.labelActual) + ": " + (a.headline || a.event);
    banner.hidden = false;
  }
  // Each alert shown is reported once per page: the drill report counts it as delivered on the web.
  function receipt(a) {
    if (!banner.dataset.csrf || !window.fetch || a.msg_type === "Cancel") return;
    fetch("/alerts/" + encodeURIComponent(a.id) + "/seen", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "csrf=" + encodeURIComponent(banner.dataset.csrf) + "&channel=web"
    }).catch(function () { /* best effort */ });
  }
  new EventSource(banner.dataset.events).addEventListener("alert", function (e) {
    var a = JSON.parse(e.data);
    if (!shown[a.id]) receipt(a);
    if (a.refers_to) delete shown[a.refers_to];
    if (a.msg_type !== "Cancel") shown[a.id] = a;
    render();
  });
})();
