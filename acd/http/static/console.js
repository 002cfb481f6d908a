/*
 * acd — the supervisor's console of a SAS room.
 *
 * Plain ES5, no dependency, no build step: it runs on an old browser of a wall screen.
 * The room comes from the router's event stream (GET /api/v1/events?room=1, a "room"
 * event at most every 0.25 s while it changes and at least once a second); every
 * action goes through the API's own routes, with the session's CSRF token. The server
 * decides what each role may see and do: this page only hides what it may not.
 * No token in any URL: the token is typed once and exchanged for an HttpOnly cookie.
 */
(function () {
  "use strict";

  var STRINGS = window.ACD_CONSOLE_STRINGS;
  var PAUSE_REASONS = ["break", "meal", "meeting", "training", "debrief"];
  var SHARES = [1, 0.75, 0.5, 0.25, 0.1];
  /** no room event for this long (ms): the data is stale */
  var SILENCE_MS = 3500;
  var STATE_ORDER = ["available", "ringing", "on_call", "wrap_up", "paused", "logged_out"];

  var mode = window.location.pathname === "/wallboard" ? "wall" : "console";
  var lang = readLang();
  var session = null;
  var room = null;
  var roomWall = 0;
  var source = null;
  var streamOpen = false;
  var stopping = false;
  var retry = 0;
  var retryTimer = null;
  var agentRows = {};
  var confirmAction = null;
  var toastTimer = null;
  var formFor = "";
  var auditEntries = null;

  // ---------------------------------------------------------------- helpers

  function $(id) { return document.getElementById(id); }

  // a key's words in the page's language (STRINGS holds [French, English] per key)
  function words(key) {
    var both = STRINGS[key];
    return both === undefined ? undefined : both[lang === "en" ? 1 : 0];
  }

  function t(key) {
    var text = words(key);
    return text !== undefined ? text : key;
  }

  function fill(text, values) {
    return text.replace(/\{(\w)\}/g, function (_m, k) { return values[k]; });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }

  function readLang() {
    try {
      var saved = window.localStorage.getItem("acd-console-lang");
      if (saved === "fr" || saved === "en") { return saved; }
    } catch (e) { /* storage refused: French */ }
    return "fr";
  }

  function two(n) { return n < 10 ? "0" + n : String(n); }

  /** an engine time (epoch seconds) as the site's local time of day */
  function clockAt(epoch, seconds) {
    var offset = room ? room.site.utc_offset_s : 0;
    var d = new Date((epoch + offset) * 1000);
    var text = two(d.getUTCHours()) + ":" + two(d.getUTCMinutes());
    return seconds ? text + ":" + two(d.getUTCSeconds()) : text;
  }

  function duration(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    return h ? h + ":" + two(m) + ":" + two(sec) : m + ":" + two(sec);
  }

  function percent(x) {
    if (x === null || x === undefined) { return "—"; }
    var text = (Math.floor(x * 1000) / 10).toFixed(1);
    return (lang === "fr" ? text.replace(".", ",") : text) + " %";
  }

  function shareText(share) { return Math.round(share * 100) + " %"; }

  function queueLabel(name) {
    if (name === "*" || name === "site") { return t("whole_site"); }
    return String(name).replace(/_/g, " ");
  }

  /** engine time now, estimated from the last room view and its speed */
  function engineNow() {
    if (!room) { return 0; }
    var elapsed = Math.min(Date.now() - roomWall, SILENCE_MS);
    return room.at + (elapsed / 1000) * room.speed;
  }

  function ticking(node, from) {
    node.className += " tick";
    node.setAttribute("data-from", String(from));
    node.textContent = duration(engineNow() - from);
    return node;
  }

  function reasonText(reason) {
    if (!reason) { return ""; }
    var text = words("reason_" + reason);
    return text !== undefined ? text : reason;
  }

  function causeText(period) {
    if (period.period !== "pdsa") { return t("period_sas"); }
    var cause = period.cause || "";
    var text = cause;
    var rules = [["night", "cause_night"], ["Sunday", "cause_sunday"],
                 ["extra date", "cause_extra"]];
    var prefixes = [["holiday: ", "cause_holiday"], ["Saturday from ", "cause_saturday"],
                    ["evening from ", "cause_evening"],
                    ["bridge day before ", "cause_bridge_before"],
                    ["bridge day after ", "cause_bridge_after"]];
    var i;
    for (i = 0; i < rules.length; i += 1) {
      if (cause === rules[i][0]) { text = t(rules[i][1]); }
    }
    for (i = 0; i < prefixes.length; i += 1) {
      if (cause.indexOf(prefixes[i][0]) === 0) {
        var rest = cause.substring(prefixes[i][0].length);
        if (prefixes[i][1] === "cause_holiday" && period.holiday_fr && lang === "fr") {
          rest = period.holiday_fr;
        }
        text = t(prefixes[i][1]) + " " + rest;
      }
    }
    return t("period_pdsa") + (text ? " — " + text : "");
  }

  // ---------------------------------------------------------------- HTTP

  function api(method, path, body, done) {
    var x = new XMLHttpRequest();
    x.open(method, path, true);
    x.setRequestHeader("Accept", "application/json");
    if (body !== null && body !== undefined) {
      x.setRequestHeader("Content-Type", "application/json");
    }
    if (session && method !== "GET") { x.setRequestHeader("X-CSRF-Token", session.csrf); }
    x.onreadystatechange = function () {
      if (x.readyState !== 4) { return; }
      var data = null;
      try { data = JSON.parse(x.responseText); } catch (e) { data = null; }
      done(x.status, data);
    };
    x.send(body === null || body === undefined ? null : JSON.stringify(body));
  }

  function toast(text, bad) {
    var node = $("toast");
    node.textContent = text;
    node.className = bad ? "toast bad" : "toast";
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { node.hidden = true; }, bad ? 8000 : 2500);
  }

  function act(method, path, body) {
    api(method, path, body, function (status, data) {
      if (status >= 200 && status < 300) {
        toast(t("sent"), false);
      } else if (status === 0) {
        toast(t("network"), true);
      } else {
        toast(t("refused") + " " + (data && data.message ? data.message : status), true);
      }
      if (session && session.role === "supervisor") { loadAudit(); }
    });
  }

  // ---------------------------------------------------------------- session

  function start() {
    document.body.className = mode === "wall" ? "wall" : "console";
    applyStrings();
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("lang").addEventListener("click", switchLang);
    $("agent-groups").addEventListener("click", onAgentClick);
    $("partner-list").addEventListener("click", onPartnerClick);
    $("bascule-form").addEventListener("submit", onBasculeSubmit);
    $("confirm-yes").addEventListener("click", function () { closeConfirm(true); });
    $("confirm-no").addEventListener("click", function () { closeConfirm(false); });
    $("audit-refresh").addEventListener("click", loadAudit);
    fillPauseReasons();
    setInterval(tick, 500);
    api("GET", "/console/session", null, function (status, data) {
      if (status === 200 && data.open) {
        opened(data);
      } else {
        showLogin(data && data.problem ? data.problem : "");
      }
    });
  }

  function showLogin(message) {
    session = null;
    $("main").hidden = true;
    $("logout").hidden = true;
    $("who").textContent = "";
    $("login").hidden = false;
    $("login-error").textContent = message;
    $("token").focus();
  }

  function login(event) {
    event.preventDefault();
    var input = $("token");
    var token = input.value;
    input.value = "";
    api("POST", "/console/session", {token: token}, function (status, data) {
      if (status === 200) {
        opened(data);
      } else if (status === 401 && data && data.message === "unknown token") {
        showLogin(t("bad_token"));
      } else {
        showLogin(data && data.message ? data.message : t("network"));
      }
    });
  }

  function logout() {
    api("DELETE", "/console/session", null, function () {
      closeStream();
      showLogin("");
    });
  }

  function opened(data) {
    session = data;
    var role = session.role;
    $("login").hidden = true;
    $("main").hidden = false;
    $("logout").hidden = mode === "wall";
    $("who").textContent = session.who + " (" + t("role_" + role) + ")";
    document.body.setAttribute("data-role", role);
    $("pause-reason-row").hidden = !(mode === "console" && role !== "reader");
    $("bascule-form").hidden = !(mode === "console" && role === "supervisor");
    $("audit").hidden = !(mode === "console" && role === "supervisor");
    agentRows = {};
    clear($("agent-groups"));
    if (role === "supervisor" && mode === "console") { loadAudit(); }
    connect();
  }

  function sessionEnded() {
    closeStream();
    showLogin(t("session_ended"));
  }

  // ---------------------------------------------------------------- stream

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    closeStream();
    stopping = false;
    source = new window.EventSource("/api/v1/events?room=1");
    source.onopen = function () { streamOpen = true; retry = 0; };
    source.addEventListener("room", function (event) {
      streamOpen = true;
      onRoom(JSON.parse(event.data));
    });
    source.addEventListener("closing", function () { stopping = true; dropped(); });
    source.onerror = function () { dropped(); };
  }

  function closeStream() {
    streamOpen = false;
    if (source) { source.close(); source = null; }
  }

  function dropped() {
    closeStream();
    tick();
    if (retryTimer !== null || !session) { return; }
    retry = Math.min(retry + 1, 5);
    retryTimer = setTimeout(reconnect, retry * 1000);
  }

  function reconnect() {
    retryTimer = null;
    api("GET", "/console/session", null, function (status, data) {
      if (status === 200 && data.open) {
        session = data;
        connect();
      } else if (status === 200) {
        sessionEnded();
      } else {
        dropped();
      }
    });
  }

  function staleReason() {
    if (stopping) { return t("why_stopping"); }
    if (!streamOpen) { return t("why_unreachable"); }
    if (!room) { return t("why_waiting"); }
    if (Date.now() - roomWall > SILENCE_MS) { return t("why_silent"); }
    if (!room.health.ami_connected) { return t("why_ami"); }
    if (room.health.status === "degraded") { return t("why_degraded"); }  // "warn" routes
    return "";
  }

  function tick() {
    if (!session) { return; }
    var why = staleReason();
    var banner = $("stale");
    var live = $("live");
    if (why) {
      banner.hidden = false;
      $("stale-why").textContent = "— " + why + (room ? " (" + t("last_update") + " " +
        clockAt(room.at, true) + ")" : "");
      live.setAttribute("data-state", "stale");
      live.textContent = t("stale_short");
      document.body.setAttribute("data-stale", "1");
    } else {
      banner.hidden = true;
      live.setAttribute("data-state", "live");
      live.textContent = t("live");
      document.body.removeAttribute("data-stale");
    }
    if (!room) { return; }
    var now = engineNow();
    $("clock").textContent = clockAt(now, true);
    var nodes = document.querySelectorAll(".tick");
    for (var i = 0; i < nodes.length; i += 1) {
      nodes[i].textContent = duration(now - Number(nodes[i].getAttribute("data-from")));
    }
  }

  // ---------------------------------------------------------------- rendering

  function onRoom(view) {
    var first = room === null;
    room = view;
    if (first) { renderAudit(); }
    roomWall = Date.now();
    $("site").textContent = view.site.name;
    $("period").textContent = causeText(view.period);
    $("period").setAttribute("data-period", view.period.period);
    renderBasculeBanner();
    if (mode === "wall") {
      renderWall();
    } else {
      renderQs($("qs"), false);
      renderQueues();
      renderAgents();
      renderPartners();
      fillBasculeForm();
    }
    tick();
  }

  function renderBasculeBanner() {
    var banner = $("bascule-banner");
    var list = room.bascules || [];
    banner.hidden = list.length === 0;
    clear(banner);
    for (var i = 0; i < list.length; i += 1) {
      banner.appendChild(el("span", "bascule-item", basculeText(list[i])));
    }
  }

  function basculeText(b) {
    return t("bascule") + " " + queueLabel(b.queue) + " : " + shareText(b.share) + " → " +
      (b.partner || t("partner_pref"));
  }

  function qsCell(figure, key, target) {
    var cell = el("div", "qs-cell");
    var value = figure[key];
    var big = el("div", "qs-value", percent(value));
    if (target !== undefined && value !== null && value < target) { big.className += " below"; }
    cell.appendChild(big);
    var count = key === "qs30" ? figure.within_30s : figure.within_60s;
    cell.appendChild(el("div", "qs-count", count + " / " + figure.answered + " " + t("answered")));
    return cell;
  }

  function renderQs(box, big) {
    clear(box);
    var qs = room.qs;
    if (!qs) { return; }
    var since = qs.today_since;
    var midnight = clockAt(since) === "00:00";
    var todayLabel = midnight ? t("since_midnight") : t("since_start") + " " + clockAt(since);
    var rows = [["QS 30 s", "qs30", undefined], ["QS 60 s", "qs60", 0.99]];
    for (var i = 0; i < rows.length; i += 1) {
      var row = el("div", "qs-row" + (big ? " big" : ""));
      row.setAttribute("data-qs", rows[i][1]);
      var head = el("div", "qs-name", rows[i][0]);
      if (rows[i][2] !== undefined) {
        head.appendChild(el("small", null, " " + t("target") + " " +
          Math.round(rows[i][2] * 100) + " %"));
      }
      row.appendChild(head);
      var win = qsCell(qs.window, rows[i][1], rows[i][2]);
      win.insertBefore(el("div", "qs-label", t("window")), win.firstChild);
      var day = qsCell(qs.today, rows[i][1], rows[i][2]);
      day.insertBefore(el("div", "qs-label", todayLabel), day.firstChild);
      var w = qs.window[rows[i][1]];
      var d = qs.today[rows[i][1]];
      if (w !== null && d !== null && w < d - 0.05) {
        row.className += " slipping";
        win.appendChild(el("div", "qs-trend", "↓ " + t("slipping")));
      }
      row.appendChild(win);
      row.appendChild(day);
      box.appendChild(row);
    }
  }

  function renderQueues() {
    var box = $("queue-list");
    clear(box);
    for (var i = 0; i < room.queues.length; i += 1) {
      var q = room.queues[i];
      var moving = q.transfers || [];
      var card = el("div", "queue" + (q.waiting || moving.length ? " has-waiting" : ""));
      card.setAttribute("data-queue", q.name);
      var head = el("h3", null, queueLabel(q.name));
      if (q.role && q.role !== q.name) { head.appendChild(el("small", null, " " + q.role)); }
      card.appendChild(head);
      var count = el("div", "queue-count");
      count.appendChild(el("span", "count", q.waiting));
      count.appendChild(el("span", "unit", " " + t("waiting")));
      card.appendChild(count);
      var facts = el("div", "queue-facts");
      if (q.waiting) {
        facts.appendChild(el("span", null, t("longest") + " "));
        facts.appendChild(ticking(el("strong", "longest"), room.at - q.oldest_wait_s));
      } else {
        facts.appendChild(el("span", "quiet", t("nobody")));
      }
      card.appendChild(facts);
      card.appendChild(el("div", "queue-staff", t("free") + " " + q.free + " · " +
        t("staffed") + " " + q.staffed + (q.estimated_wait_s !== null && q.waiting ?
          " · " + t("estimated") + " " + duration(q.estimated_wait_s) : "")));
      if (q.overflowing) {
        card.appendChild(el("div", "queue-overflow", q.overflowing + " " + t("overflowing")));
      }
      if (q.bascule) { card.appendChild(el("div", "queue-bascule", basculeText(q.bascule))); }
      var list = el("ol", "calls");
      var shown = Math.min(q.calls.length, 12);
      for (var k = 0; k < shown; k += 1) {
        var c = q.calls[k];
        var item = el("li", "call p" + Math.min(c.priority, 9));
        item.setAttribute("data-call", c.id);
        item.appendChild(el("span", "prio", "P" + c.priority));
        item.appendChild(ticking(el("span", "wait"), room.at - c.queue_wait_s));
        item.appendChild(el("span", "caller", c.caller || "—"));
        list.appendChild(item);
      }
      if (q.calls.length > shown) {
        list.appendChild(el("li", "more", "+ " + (q.calls.length - shown) + " " + t("more")));
      }
      card.appendChild(list);
      if (moving.length) {
        card.appendChild(el("div", "queue-transfers", moving.length + " " + t("transferring")));
        var held = el("ol", "calls transfers");
        for (var m = 0; m < moving.length; m += 1) {
          var w = moving[m];
          var line = el("li", "call transfer p" + Math.min(w.priority, 9));
          line.setAttribute("data-call", w.id);
          line.appendChild(el("span", "prio", "P" + w.priority));
          line.appendChild(ticking(el("span", "wait"), room.at - w.transfer_wait_s));
          line.appendChild(el("span", "caller", w.caller || "—"));
          line.appendChild(el("span", "via", queueLabel(w.from_queue) + " · " + w.agent +
            (w.ringing ? " → " + t("rings") + " " + w.ringing : "")));
          held.appendChild(line);
        }
        card.appendChild(held);
      }
      box.appendChild(card);
    }
  }

  function mayAct(agent) {
    if (!session || mode !== "console") { return false; }
    if (session.role === "supervisor") { return true; }
    return session.role === "agent" && session.agent === agent.id;
  }

  function actionsFor(agent) {
    var list = [];
    if (!mayAct(agent)) { return list; }
    var own = session.role === "agent";
    if (agent.state === "logged_out") {
      if (own) { list.push("login"); }
      return list;
    }
    if (agent.state === "paused" || agent.pending === "paused") {
      list.push("ready");
    } else {
      list.push("pause");
    }
    if (own) { list.push("logout"); }
    return list;
  }

  function groupOf(agent) { return agent.role || ""; }

  function renderAgents() {
    var box = $("agent-groups");
    var groups = {};
    var order = [];
    var i;
    for (i = 0; i < room.agents.length; i += 1) {
      var key = groupOf(room.agents[i]);
      if (!groups[key]) { groups[key] = []; order.push(key); }
      groups[key].push(room.agents[i]);
    }
    var present = {};
    var compact = !session || session.role !== "agent";
    for (i = 0; i < order.length; i += 1) {
      var table = groupTable(box, order[i]);
      var body = table.tBodies[0];
      var away = [];
      var shown = 0;
      for (var k = 0; k < groups[order[i]].length; k += 1) {
        var agent = groups[order[i]][k];
        if (compact && agent.state === "logged_out") {
          away.push(agent.id + (agent.name ? " " + agent.name : ""));
          continue;
        }
        present[agent.id] = true;
        var row = agentRows[agent.id];
        if (!row || row.parentNode !== body) {
          if (row && row.parentNode) { row.parentNode.removeChild(row); }
          row = agentRow(agent);
          agentRows[agent.id] = row;
        }
        if (body.rows[shown] !== row) { body.insertBefore(row, body.rows[shown] || null); }
        shown += 1;
        updateRow(row, agent);
      }
      groupSummary(table, groups[order[i]]);
      var foot = table.querySelector(".logged-out");
      foot.textContent = away.length ? t("away") + " (" + away.length + ") : " +
        away.join(", ") : "";
      foot.parentNode.hidden = !away.length;
      table.tHead.hidden = shown === 0;
    }
    for (var id in agentRows) {
      if (Object.prototype.hasOwnProperty.call(agentRows, id) && !present[id]) {
        var gone = agentRows[id];
        if (gone.parentNode) { gone.parentNode.removeChild(gone); }
        delete agentRows[id];
      }
    }
    var tables = box.querySelectorAll("table");
    for (i = 0; i < tables.length; i += 1) {
      tables[i].hidden = !groups[tables[i].getAttribute("data-group")];
    }
  }

  function groupTable(box, group) {
    var tables = box.querySelectorAll("table");
    for (var i = 0; i < tables.length; i += 1) {
      if (tables[i].getAttribute("data-group") === group) { return tables[i]; }
    }
    var table = el("table", "agents");
    table.setAttribute("data-group", group);
    var caption = el("caption");
    caption.appendChild(el("span", "group-name", group ? queueLabel(group) : t("other_role")));
    caption.appendChild(el("span", "group-summary"));
    table.appendChild(caption);
    var head = el("thead");
    var tr = el("tr");
    var names = ["id", "state", "reason", "time", "actions"];
    for (var k = 0; k < names.length; k += 1) { tr.appendChild(el("th", null, t(names[k]))); }
    head.appendChild(tr);
    table.appendChild(head);
    table.appendChild(el("tbody"));
    var foot = el("tfoot");
    var line = el("tr");
    var cell = el("td", "logged-out");
    cell.colSpan = names.length;
    line.appendChild(cell);
    foot.appendChild(line);
    table.appendChild(foot);
    box.appendChild(table);
    return table;
  }

  function groupSummary(table, agents) {
    var counts = {};
    for (var i = 0; i < agents.length; i += 1) {
      counts[agents[i].state] = (counts[agents[i].state] || 0) + 1;
    }
    var parts = [];
    for (var k = 0; k < STATE_ORDER.length - 1; k += 1) {
      if (counts[STATE_ORDER[k]]) {
        parts.push(t("state_" + STATE_ORDER[k]) + " " + counts[STATE_ORDER[k]]);
      }
    }
    table.querySelector(".group-summary").textContent = parts.length ? " — " + parts.join(" · ") : "";
  }

  function agentRow(agent) {
    var row = el("tr", "agent");
    row.setAttribute("data-agent", agent.id);
    var name = el("td", "agent-name");
    name.appendChild(el("strong", null, agent.id));
    if (agent.name) { name.appendChild(el("span", "agent-fullname", " " + agent.name)); }
    row.appendChild(name);
    row.appendChild(el("td", "state"));
    row.appendChild(el("td", "reason"));
    row.appendChild(el("td", "since"));
    row.appendChild(el("td", "actions"));
    return row;
  }

  function updateRow(row, agent) {
    row.setAttribute("data-state", agent.state);
    var cells = row.cells;
    var stateText = t("state_" + agent.state);
    if (agent.pending) { stateText += " (" + t("then") + " " + t("state_" + agent.pending) + ")"; }
    cells[1].textContent = stateText;
    cells[1].className = "state s-" + agent.state;
    var reason = agent.state === "paused" ? agent.pause_reason :
      (agent.pending === "paused" ? agent.pending_reason : "");
    cells[2].textContent = reasonText(reason);
    var since = cells[3];
    clear(since);
    if (agent.since !== null && agent.since !== undefined) {
      since.appendChild(el("span", "since-at", clockAt(agent.since) + " · "));
      since.appendChild(ticking(el("span", "in-state"), agent.since));
    } else {
      since.textContent = "—";
    }
    var wanted = actionsFor(agent);
    var cell = cells[4];
    var have = [];
    for (var i = 0; i < cell.childNodes.length; i += 1) {
      have.push(cell.childNodes[i].getAttribute("data-action"));
    }
    if (have.join() !== wanted.join()) {
      clear(cell);
      for (var k = 0; k < wanted.length; k += 1) {
        var button = el("button", "act act-" + wanted[k], t("act_" + wanted[k]));
        button.type = "button";
        button.setAttribute("data-action", wanted[k]);
        button.setAttribute("data-agent", agent.id);
        cell.appendChild(button);
      }
    }
  }

  function onAgentClick(event) {
    var target = event.target;
    var action = target.getAttribute && target.getAttribute("data-action");
    if (!action) { return; }
    var agent = target.getAttribute("data-agent");
    var body = action === "pause" ? {reason: $("pause-reason").value} : {};
    act("POST", "/api/v1/agents/" + encodeURIComponent(agent) + "/" + action, body);
  }

  function renderPartners() {
    var box = $("partner-list");
    clear(box);
    var supervisor = session && session.role === "supervisor";
    var list = el("ul", "partners");
    for (var i = 0; i < room.partners.length; i += 1) {
      var p = room.partners[i];
      var item = el("li", p.up ? "partner up" : "partner down");
      item.setAttribute("data-partner", p.name);
      item.appendChild(el("strong", null, p.name));
      item.appendChild(el("span", null, " — " + (p.up ? t("partner_up") :
        t("partner_down") + " " + clockAt(p.down_until))));
      item.appendChild(el("span", "partner-counts", " — " + t("window") + " : " +
        p.tried_window + " " + t("tried") + ", " + p.taken_window + " " + t("taken") +
        " · " + t("today") + " : " + p.taken_today + " " + t("taken")));
      list.appendChild(item);
    }
    box.appendChild(room.partners.length ? list : el("p", "quiet", t("no_partner")));
    var bascules = el("ul", "bascules");
    for (var k = 0; k < room.bascules.length; k += 1) {
      var b = room.bascules[k];
      var line = el("li", "bascule");
      line.setAttribute("data-bascule", b.queue);
      line.appendChild(el("span", null, basculeText(b) + " — " + t("bascule_by") + " " + b.by +
        " " + t("at") + " " + clockAt(b.at) + (b.reason ? " — " + b.reason : "")));
      if (supervisor && mode === "console") {
        var end = el("button", "act act-end", t("act_end"));
        end.type = "button";
        end.setAttribute("data-end", b.queue === "*" ? "site" : b.queue);
        line.appendChild(end);
      }
      bascules.appendChild(line);
    }
    box.appendChild(room.bascules.length ? bascules : el("p", "quiet", t("no_bascule")));
  }

  function onPartnerClick(event) {
    var queue = event.target.getAttribute && event.target.getAttribute("data-end");
    if (!queue) { return; }
    ask(fill(t("confirm_end"), {q: queueLabel(queue)}), function () {
      act("DELETE", "/api/v1/bascules/" + encodeURIComponent(queue), {});
    });
  }

  function option(select, value, text) {
    var node = el("option", null, text);
    node.value = value;
    select.appendChild(node);
  }

  function fillPauseReasons() {
    var select = $("pause-reason");
    var chosen = select.value;
    clear(select);
    for (var i = 0; i < PAUSE_REASONS.length; i += 1) {
      option(select, PAUSE_REASONS[i], reasonText(PAUSE_REASONS[i]));
    }
    if (chosen) { select.value = chosen; }
  }

  function fillBasculeForm() {
    if ($("bascule-form").hidden) { return; }
    var key = lang + "|" + room.queues.map(function (q) { return q.name; }).join() + "|" +
      room.partners.map(function (p) { return p.name; }).join();
    if (key === formFor) { return; }
    formFor = key;
    var queue = $("bascule-queue");
    var share = $("bascule-share");
    var partner = $("bascule-partner");
    var keep = [queue.value, share.value, partner.value];
    clear(queue);
    clear(share);
    clear(partner);
    option(queue, "site", t("whole_site"));
    for (var i = 0; i < room.queues.length; i += 1) {
      option(queue, room.queues[i].name, queueLabel(room.queues[i].name));
    }
    for (var k = 0; k < SHARES.length; k += 1) {
      option(share, String(SHARES[k]), SHARES[k] === 1 ? t("share_all") : shareText(SHARES[k]));
    }
    option(partner, "", t("by_preference"));
    for (var j = 0; j < room.partners.length; j += 1) {
      option(partner, room.partners[j].name, room.partners[j].name);
    }
    if (keep[0]) { queue.value = keep[0]; share.value = keep[1]; partner.value = keep[2]; }
  }

  function onBasculeSubmit(event) {
    event.preventDefault();
    var queue = $("bascule-queue").value;
    var share = Number($("bascule-share").value);
    var partner = $("bascule-partner").value;
    var reason = $("bascule-reason").value;
    var waiting = 0;
    for (var i = 0; i < room.queues.length; i += 1) {
      if (queue === "site" || room.queues[i].name === queue) { waiting += room.queues[i].waiting; }
    }
    var values = {q: queueLabel(queue), p: partner || t("partner_pref"), n: waiting,
                  s: shareText(share)};
    var text = fill(share === 1 ? t("confirm_whole") : t("confirm_part"), values);
    var body = {share: share, reason: reason};
    if (partner) { body.partner = partner; }
    ask(text, function () {
      act("PUT", "/api/v1/bascules/" + encodeURIComponent(queue), body);
    });
  }

  function ask(text, then) {
    confirmAction = then;
    $("confirm-text").textContent = text;
    $("confirm").hidden = false;
    $("confirm-no").focus();
  }

  function closeConfirm(yes) {
    $("confirm").hidden = true;
    var then = confirmAction;
    confirmAction = null;
    if (yes && then) { then(); }
  }

  function loadAudit() {
    if (!session || session.role !== "supervisor" || mode !== "console") { return; }
    api("GET", "/api/v1/audit", null, function (status, data) {
      if (status !== 200 || !data) { return; }
      auditEntries = data.audit.slice(-50).reverse();
      renderAudit();
    });
  }

  /** the audit's times (UTC) in the site's zone, once a room view gave its offset */
  function renderAudit() {
    if (!auditEntries || !room) { return; }
    var rows = $("audit-rows");
    clear(rows);
    var list = auditEntries;
    for (var i = 0; i < list.length; i += 1) {
      var entry = list[i];
      var tr = el("tr", entry.result === "ok" ? "ok" : "refused");
      var at = Date.parse(entry.at) / 1000;
      tr.appendChild(el("td", null, isNaN(at) ? entry.at : clockAt(at, true)));
      tr.appendChild(el("td", null, entry.who + " (" + t("role_" + entry.role) + ")"));
      var body = entry.body ? " " + JSON.stringify(entry.body) : "";
      tr.appendChild(el("td", null, entry.method + " " + entry.path + body));
      tr.appendChild(el("td", null, entry.status + " " + entry.result +
        (entry.detail ? " — " + entry.detail : "")));
      rows.appendChild(tr);
    }
  }

  // ---------------------------------------------------------------- wallboard

  function renderWall() {
    var box = $("wall");
    clear(box);
    var queues = el("div", "wall-queues");
    for (var i = 0; i < room.queues.length; i += 1) {
      var q = room.queues[i];
      if (i >= 4 && !q.waiting && !q.staffed && !(q.transfers || []).length) { continue; }
      var held = (q.transfers || []).length;
      var tile = el("div", "tile queue-tile" + (q.waiting || held ? " has-waiting" : ""));
      tile.setAttribute("data-queue", q.name);
      tile.appendChild(el("div", "tile-name", queueLabel(q.name)));
      tile.appendChild(el("div", "tile-big count", q.waiting));
      tile.appendChild(el("div", "tile-unit", t("waiting")));
      var longest = el("div", "tile-small");
      if (q.waiting) {
        longest.appendChild(el("span", null, t("longest") + " "));
        longest.appendChild(ticking(el("strong"), room.at - q.oldest_wait_s));
      } else {
        longest.textContent = t("nobody");
      }
      tile.appendChild(longest);
      if (held) { tile.appendChild(el("div", "tile-small", "+ " + held + " " + t("transferring"))); }
      tile.appendChild(el("div", "tile-small", t("free") + " " + q.free + " / " + q.staffed));
      if (q.overflowing) {
        tile.appendChild(el("div", "tile-alert", q.overflowing + " " + t("overflowing")));
      }
      if (q.bascule) { tile.appendChild(el("div", "tile-alert", basculeText(q.bascule))); }
      queues.appendChild(tile);
    }
    box.appendChild(queues);
    var lower = el("div", "wall-lower");
    var qs = el("div", "tile qs-tile");
    renderQs(qs, true);
    lower.appendChild(qs);
    var counts = {};
    for (var k = 0; k < room.agents.length; k += 1) {
      counts[room.agents[k].state] = (counts[room.agents[k].state] || 0) + 1;
    }
    var team = el("div", "tile team-tile");
    var rows = [["available", "agents_free"], ["ringing", "agents_ringing"],
                ["on_call", "agents_talking"], ["wrap_up", "agents_wrap"],
                ["paused", "agents_paused"]];
    for (var j = 0; j < rows.length; j += 1) {
      var line = el("div", "team-line s-" + rows[j][0]);
      line.appendChild(el("span", "team-count", counts[rows[j][0]] || 0));
      line.appendChild(el("span", "team-label", " " + t(rows[j][1])));
      team.appendChild(line);
    }
    lower.appendChild(team);
    var partners = el("div", "tile partners-tile");
    partners.appendChild(el("div", "tile-name", t("partners_short")));
    for (var p = 0; p < room.partners.length; p += 1) {
      var partner = room.partners[p];
      var entry = el("div", "tile-small partner " + (partner.up ? "up" : "down"));
      entry.setAttribute("data-partner", partner.name);
      entry.appendChild(el("strong", null, partner.name));
      entry.appendChild(el("span", null, " " + (partner.up ? t("partner_up") :
        t("partner_down") + " " + clockAt(partner.down_until)) + " · " +
        partner.taken_today + " " + t("taken") + " " + t("today")));
      partners.appendChild(entry);
    }
    if (!room.partners.length) { partners.appendChild(el("div", "tile-small", t("no_partner"))); }
    lower.appendChild(partners);
    box.appendChild(lower);
  }

  // ---------------------------------------------------------------- language

  function applyStrings() {
    document.documentElement.lang = lang;
    var nodes = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i += 1) {
      nodes[i].textContent = t(nodes[i].getAttribute("data-i18n"));
    }
    var button = $("lang");
    button.textContent = lang === "fr" ? "English" : "Français";
    button.lang = lang === "fr" ? "en" : "fr";
    document.title = t("title");
    if (session) { $("who").textContent = session.who + " (" + t("role_" + session.role) + ")"; }
  }

  function switchLang() {
    lang = lang === "fr" ? "en" : "fr";
    try { window.localStorage.setItem("acd-console-lang", lang); } catch (e) { /* ignored */ }
    applyStrings();
    fillPauseReasons();
    formFor = "";
    agentRows = {};
    clear($("agent-groups"));
    if (room) { onRoom(room); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
