// The in-home terminal: keeps the clock current and shows alerts the moment they arrive —
// full screen, with a chime and read aloud in Japanese, until 「確認しました」 is pressed.
// Without JavaScript the page still works; alerts then need a reload.
(function () {
  "use strict";
  var clock = document.getElementById("terminal-clock");
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // Written as the server writes times (kernel::model::clock::human): 12月8日(火) 午前9時6分,
  // or Tue 8 Dec, 9:06 am, by the page's language.
  var english = document.documentElement.lang === "en";
  function tick() {
    if (!clock) return;
    // The town's local time (JST, UTC+9) whatever the device's zone.
    var d = new Date(Date.now() + 9 * 3600 * 1000);
    var m = d.getUTCMonth(), day = d.getUTCDate(), wd = d.getUTCDay();
    var h = d.getUTCHours(), min = d.getUTCMinutes();
    var text;
    if (english) {
      var h12 = h % 12 === 0 ? 12 : h % 12;
      text = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][wd] + " " + day + " " +
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][m] +
        ", " + h12 + ":" + pad(min) + (h < 12 ? " am" : " pm");
    } else {
      text = (m + 1) + "月" + day + "日(" + "日月火水木金土".charAt(wd) + ") " +
        (h < 12 ? "午前" : "午後") + (h % 12 === h ? h : h - 12) + "時" + (min === 0 ? "" : min + "分");
    }
    clock.textContent = text;
    clock.setAttribute("datetime", d.getUTCFullYear() + "-" + pad(m + 1) + "-" + pad(day) + "T" + pad(h) + ":" + pad(min));
  }
  tick();
  setInterval(tick, 15000);

  var overlay = document.getElementById("alert-overlay");
  if (!overlay || !window.EventSource) return;
  var queue = [];
  var showing = null;

  function chime() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      var ctx = new Ctx();
      [0, 0.45, 0.9].forEach(function (at, i) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        osc.frequency.value = i === 1 ? 660 : 880;
        gain.gain.setValueAtTime(0.25, ctx.currentTime + at);
        gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + at + 0.4);
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + at);
        osc.stop(ctx.currentTime + at + 0.4);
      });
    } catch (e) { /* no sound available: the screen still shows it */ }
  }

  function speak(a, label) {
    if (!window.speechSynthesis) return;
    var text = [label, a.headline || a.event, a.description, a.instruction].filter(Boolean).join("。");
    var u = new SpeechSynthesisUtterance(text);
    u.lang = "ja-JP";
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(u);
  }

  // Most urgent first, as the server lists them: real before drill, then the most severe, then newest.
  var severities = ["Extreme", "Severe", "Moderate", "Minor"];
  function rank(a) {
    var r = severities.indexOf(a.severity);
    return r < 0 ? severities.length : r;
  }
  function byUrgency(x, y) {
    return (x.drill - y.drill) || (rank(x) - rank(y)) || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0);
  }

  function show() {
    var a = queue[0];
    if (!a) {
      overlay.hidden = true;
      document.body.classList.remove("alert-active");
      showing = null;
      reportPanel();
      return;
    }
    if (showing === a.id) return;
    showing = a.id;
    var label = a.drill ? overlay.dataset.labelDrill : overlay.dataset.labelActual;
    document.getElementById("alert-kind").textContent = label;
    document.getElementById("alert-headline").textContent = a.headline || a.event;
    document.getElementById("alert-description").textContent = a.description || "";
    document.getElementById("alert-instruction").textContent = a.instruction || "";
    document.getElementById("alert-issued").textContent = a.issued || "";
    document.getElementById("alert-ack").action = "/alerts/" + encodeURIComponent(a.id) + "/ack";
    overlay.classList.toggle("drill", !!a.drill);
    overlay.hidden = false;
    // A real, severe alert takes the whole screen: ordinary content steps aside.
    document.body.classList.add("alert-active");
    overlay.querySelector("button").focus();
    // Only the alert on the screen counts as shown; those queued behind it wait their turn.
    receipt(a.id);
    chime();
    speak(a, label);
  }

  // Watch-over notices go in the status line; it says 「いま、緊急のお知らせはありません。」 only
  // when no alert is in force.
  var notice = document.getElementById("terminal-notice");
  var panel = document.getElementById("alerts-in-force");
  var notices = [];
  function showNotices() {
    if (!notice) return;
    var n = notices[notices.length - 1];
    var listed = panel && panel.querySelector("[data-alert]");
    notice.textContent = n ? n.headline : listed ? "" : notice.dataset.calm;
    notice.hidden = !notice.textContent;
  }

  // Tell the town the alert reached this screen: the drill report counts it as delivered (the
  // server credits only what this screen shows now).
  var csrf = overlay.querySelector("input[name=csrf]");
  var reported = {};
  function receipt(id) {
    if (!csrf || !window.fetch || reported[id]) return;
    reported[id] = true;
    fetch("/alerts/" + encodeURIComponent(id) + "/seen", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "csrf=" + encodeURIComponent(csrf.value) + "&channel=terminal"
    }).catch(function () { reported[id] = false; });
  }
  // With no interruption on the screen, the status panel shows every alert in force.
  function reportPanel() {
    if (!panel || queue.length) return;
    Array.prototype.forEach.call(panel.querySelectorAll("[data-alert]"), function (li) { receipt(li.dataset.alert); });
  }
  // The panel as the server renders it now (after an alert arrives, ends or expires).
  function refreshPanel() {
    if (!panel || !window.fetch) return;
    fetch(panel.dataset.fragment, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        panel.innerHTML = html;
        showNotices();
        reportPanel();
      })
      .catch(function () { /* offline: the panel keeps what it showed */ });
  }
  setInterval(refreshPanel, 60000);

  // A safety check asking this household: show the two big buttons until someone answers.
  var question = document.getElementById("safety-question");
  function loadPending() {
    if (!question || !window.fetch) return;
    fetch(question.dataset.pending, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (list) {
        var q = list[0];
        question.hidden = !q;
        if (!q) return;
        document.getElementById("safety-question-round").textContent = q.title;
        Array.prototype.forEach.call(question.querySelectorAll("form.safety-answer"), function (f) { f.action = q.answer; });
        document.getElementById("safety-question-detail").href = q.answer;
      })
      .catch(function () { /* offline: the alert overlay still works */ });
  }
  loadPending();

  var source = new EventSource(overlay.dataset.events);
  source.addEventListener("safety", loadPending);
  // A notice to this person (a watch-over call) shows in the status area like an ordinary alert.
  source.addEventListener("notice", function (e) {
    var n = JSON.parse(e.data);
    notices.push({ id: e.lastEventId, headline: n.subject });
    showNotices();
  });
  // Other parts of the terminal (watch-over messages) hear of their events from this one stream.
  source.addEventListener("watch-message", function () {
    document.dispatchEvent(new CustomEvent("machi:watch-message"));
  });
  source.addEventListener("alert", function (e) {
    var a = JSON.parse(e.data);
    if (a.refers_to) queue = queue.filter(function (q) { return q.id !== a.refers_to; });
    // Notices and acknowledged alerts are listed in the panel; others interrupt until acknowledged.
    if (a.msg_type !== "Cancel" && !a.ordinary && !a.acked) {
      queue = queue.filter(function (q) { return q.id !== a.id; });
      queue.push(a);
      queue.sort(byUrgency);
    }
    showing = null;
    show();
    refreshPanel();
  });
  // After a lost connection, the panel may have missed a cancellation.
  var connected = false;
  source.addEventListener("open", function () {
    if (connected) refreshPanel();
    connected = true;
  });
  showNotices();
  reportPanel();
})();
