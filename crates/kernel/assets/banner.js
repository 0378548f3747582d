// A banner on every page while an alert is in force for the person's area (live, over SSE).
(function () {
  "use strict";
  var banner = document.getElementById("alert-banner");
  if (!banner || !window.EventSource) return;
  // Each alert listed is reported once per page: the drill report counts it as delivered on the web.
  var reported = {};
  function receipt(id) {
    if (!banner.dataset.csrf || !window.fetch || reported[id]) return;
    reported[id] = true;
    fetch("/alerts/" + encodeURIComponent(id) + "/seen", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "csrf=" + encodeURIComponent(banner.dataset.csrf) + "&channel=web"
    }).catch(function () { reported[id] = false; });
  }
  function reportListed() {
    Array.prototype.forEach.call(banner.querySelectorAll("[data-alert]"), function (li) { receipt(li.dataset.alert); });
  }
  // The banner lists every alert in force, as the server renders it now: swapped in whenever the
  // stream says an alert arrived or ended, and each minute (alerts expire).
  function refresh() {
    if (!window.fetch) return;
    var back = encodeURIComponent(location.pathname + location.search);
    fetch(banner.dataset.fragment + "&back=" + back, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        banner.innerHTML = html;
        banner.hidden = !html.trim();
        reportListed();
      })
      .catch(function () { /* offline: the banner keeps what it showed */ });
  }
  reportListed();
  setInterval(refresh, 60000);
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
  events.addEventListener("alert", refresh);
  // After a lost connection, the banner may have missed a cancellation.
  var connected = false;
  events.addEventListener("open", function () {
    if (connected) refresh();
    connected = true;
  });
})();
