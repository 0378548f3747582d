// Keeps the terminal's clock current (the page works without it; the server renders the time).
(function () {
  var el = document.getElementById("terminal-clock");
  if (!el) return;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    // The town's local time (JST, UTC+9) whatever the device's zone.
    var d = new Date(Date.now() + 9 * 3600 * 1000);
    var date = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
    var time = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    el.textContent = date + " " + time;
    el.setAttribute("datetime", date + "T" + time);
  }
  tick();
  setInterval(tick, 15000);
})();
