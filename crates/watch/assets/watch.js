// Watch-over on the in-home terminal: asks the person's consent when a circle was proposed, shows
// 「元気です」 when the person is watched, who wrote a message their family is checking, the messages
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
  // After answering the consent question (a plain form post), say what happened.
  var done = new URLSearchParams(window.location.search).get("done");
  if (done === "consent" || done === "declined") {
    box.hidden = false;
    document.getElementById("watch-done-" + done).hidden = false;
  }
  function fill(list, items, make) {
    list.textContent = "";
    items.forEach(function (item) { list.appendChild(make(item)); });
  }
  function load() {
    fetch(box.dataset.mine, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (m) {
        if (!m) return;
        var asking = !!m.consent_question;
        if (m.watched || asking) box.hidden = false;
        document.getElementById("watch-consent-question").hidden = !asking;
        if (asking) document.getElementById("watch-consent-text").textContent = m.consent_question;
        document.getElementById("watch-watched").hidden = !m.watched;
        if (!m.watched) return;
        document.getElementById("watch-checked").hidden = !m.checked_in_today;
        fill(document.getElementById("watch-waiting"), m.waiting, function (text) {
          var li = document.createElement("li");
          li.textContent = text;
          return li;
        });
        document.getElementById("watch-waiting-title").hidden = !m.waiting.length;
        fill(document.getElementById("watch-messages"), m.messages, function (msg) {
          var li = document.createElement("li");
          var who = document.createElement("strong");
          who.textContent = msg.from + " (" + msg.sent_at + ")";
          var p = document.createElement("p");
          p.textContent = msg.body;
          li.appendChild(who);
          li.appendChild(p);
          return li;
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
