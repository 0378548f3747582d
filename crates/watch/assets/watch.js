// Watch-over on the in-home terminal: shows 「元気です」 when the person is watched, the messages
// delivered to them (new ones announced by the terminal's event stream), and tells the server when
// the person touches the terminal — a sign of life — at most every ten minutes.
(function () {
  "use strict";
  var box = document.getElementById("watch-terminal");
  if (!box || !window.fetch) return;
  var lastUse = 0;
  function used() {
    var now = Date.now();
    if (now - lastUse < 600000) return;
    lastUse = now;
    fetch(box.dataset.used, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "csrf=" + encodeURIComponent(box.dataset.csrf)
    }).catch(function () { /* best effort */ });
  }
  function load() {
    fetch(box.dataset.mine, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (m) {
        if (!m || !m.watched) return;
        box.hidden = false;
        document.getElementById("watch-checked").hidden = !m.checked_in_today;
        var list = document.getElementById("watch-messages");
        list.textContent = "";
        m.messages.forEach(function (msg) {
          var li = document.createElement("li");
          var who = document.createElement("strong");
          who.textContent = msg.from + " (" + msg.sent_at + ")";
          var p = document.createElement("p");
          p.textContent = msg.body;
          li.appendChild(who);
          li.appendChild(p);
          list.appendChild(li);
        });
        document.getElementById("watch-messages-title").hidden = !m.messages.length;
      })
      .catch(function () { /* the rest of the terminal works without it */ });
  }
  load();
  // Only a person's own touch counts: a page that reloads or a message that arrives is no sign of life.
  ["click", "touchstart", "keydown"].forEach(function (ev) {
    document.addEventListener(ev, function (e) { if (e.isTrusted && !box.hidden) used(); }, { passive: true });
  });
  // New messages: the terminal's one event stream passes them on.
  document.addEventListener("machi:watch-message", load);
})();
