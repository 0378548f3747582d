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
  // A safety check asking the person's household: a link to answer, on every page.
  var safety = document.getElementById("safety-banner");
  function loadPending() {
    if (!safety || !window.fetch) return;
    fetch(safety.dataset.pending, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (list) {
        safety.hidden = !list.length;
        if (list.length) {
          var link = safety.querySelector("a");
          link.href = list[0].answer;
          link.textContent = link.textContent.split(":")[0] + ": " + list[0].title;
        }
      })
      .catch(function () { /* best effort */ });
  }
  loadPending();
  var events = new EventSource(banner.dataset.events);
  events.addEventListener("safety", loadPending);
  // A notice to this person (a watch-over call, say): its subject, linking to where to act.
  var notice = document.getElementById("notice-banner");
  events.addEventListener("notice", function (e) {
    if (!notice) return;
    var n = JSON.parse(e.data);
    notice.querySelector("a").textContent = n.subject;
    notice.hidden = false;
  });
  events.addEventListener("alert", function (e) {
    var a = JSON.parse(e.data);
    if (!shown[a.id]) receipt(a);
    if (a.refers_to) delete shown[a.refers_to];
    if (a.msg_type !== "Cancel") shown[a.id] = a;
    render();
  });
})();
