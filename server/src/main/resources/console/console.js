// The MSS web console: plain JavaScript over the JSON API, the admin key in sessionStorage.
"use strict";

const KEY = "mss.apiKey";
const $ = (id) => document.getElementById(id);
const PAGES = ["sign-in", "overview", "biz-types", "push", "records", "lookup"];

/** Calls the API with the key; resolves to {status, body}. */
async function api(method, path, body) {
  const headers = { "Authorization": "Bearer " + (sessionStorage.getItem(KEY) || "") };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json = {};
  try { json = await response.json(); } catch (e) { json = { success: false, message: "not JSON (HTTP " + response.status + ")" }; }
  if (response.status === 401 && path !== "/api/v1/biz-types?check") {
    signOut("Your key was refused (" + (json.message || "401") + "): sign in again.");
  }
  return { status: response.status, body: json };
}

function errorText(answer) {
  return (answer.body.resultCode || ("HTTP " + answer.status)) + ": " + (answer.body.message || "");
}

function text(value) { return value === null || value === undefined ? "" : String(value); }
function time(ms) { return ms ? new Date(ms).toLocaleString() : "-"; }
function cell(row, value) { const td = document.createElement("td"); td.textContent = text(value); row.appendChild(td); return td; }
function localMillis(input) { return input.value ? new Date(input.value).getTime() : null; }

// ---- navigation
function show(page) {
  if (!sessionStorage.getItem(KEY)) page = "sign-in";
  if (!PAGES.includes(page)) page = "overview";
  for (const p of PAGES) $("page-" + p).hidden = p !== page;
  $("nav").hidden = page === "sign-in";
  document.querySelectorAll("nav a[data-page]").forEach(a => a.classList.toggle("active", a.dataset.page === page));
  overview.active(page === "overview");
  if (page === "biz-types") loadBizTypes();
  if (page === "push") loadPushBizTypes();
  if (page === "records") loadRecords();
}
window.addEventListener("hashchange", () => show(location.hash.slice(1)));

// ---- sign-in
$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  sessionStorage.setItem(KEY, key);
  const answer = await api("GET", "/api/v1/biz-types?check");
  if (answer.status === 200) {
    $("sign-in-message").textContent = "";
    $("api-key").value = "";
    location.hash = "#overview";
    show("overview");
    return;
  }
  sessionStorage.removeItem(KEY);
  $("sign-in-message").textContent = answer.status === 401 ? "Wrong key: the server refused it (" + answer.body.message + ")."
    : answer.status === 403 ? "This key is not an admin key: " + answer.body.message
    : "Cannot sign in: " + errorText(answer);
});

function signOut(message) {
  sessionStorage.removeItem(KEY);
  $("sign-in-message").textContent = message || "";
  location.hash = "#sign-in";
  show("sign-in");
}
$("sign-out").addEventListener("click", () => signOut("Signed out."));

// ---- sync configurations
let editing = null;

async function loadBizTypes() {
  const answer = await api("GET", "/api/v1/biz-types");
  const tbody = $("biz-type-list").querySelector("tbody");
  tbody.innerHTML = "";
  if (answer.status !== 200) { $("biz-type-message").textContent = errorText(answer); return; }
  for (const bt of answer.body.bizTypes) {
    const row = document.createElement("tr");
    row.dataset.id = bt.id;
    cell(row, bt.id);
    cell(row, bt.description).className = "description";
    cell(row, bt.range); cell(row, bt.range === "GLOBAL" ? "-" : bt.target); cell(row, bt.multiDevice ? "yes" : "no");
    cell(row, bt.persistent ? "yes" : "no"); cell(row, bt.retentionDays + " d");
    cell(row, bt.rePushMode + (bt.rePushMode === "THRESHOLD" ? " " + bt.rePushThreshold : ""));
    const status = cell(row, "");
    const badge = document.createElement("span");
    badge.className = "badge " + (bt.status === "ONLINE" ? "on" : "off");
    badge.textContent = bt.status;
    status.appendChild(badge);
    const actions = cell(row, "");
    actions.append(button("Edit", "secondary", () => edit(bt)),
      button(bt.status === "ONLINE" ? "Take OFFLINE" : "Take ONLINE", "secondary", () => toggle(bt)),
      button("Delete", "danger", () => remove(bt.id)));
    tbody.appendChild(row);
  }
}

function button(label, kind, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = label; b.className = kind;
  b.addEventListener("click", onClick);
  return b;
}

function formBizType() {
  const bt = {
    id: $("bt-id").value.trim(), description: $("bt-description").value,
    range: $("bt-range").value, target: $("bt-target").value,
    multiDevice: $("bt-multi-device").checked, persistent: $("bt-persistent").checked,
    retentionDays: Number($("bt-retention").value), rePushMode: $("bt-repush").value,
    rePushThreshold: Number($("bt-threshold").value), status: $("bt-status").value,
    upstreamWebhook: $("bt-upstream").value.trim(), receiptWebhook: $("bt-receipt").value.trim()
  };
  // settings that do not apply to this kind of configuration are left to the server's defaults
  if (bt.range !== "APPOINTED" || bt.target !== "USER") delete bt.multiDevice;
  if (bt.rePushMode !== "THRESHOLD") delete bt.rePushThreshold;
  return bt;
}

function applicable() {
  const userAppointed = $("bt-range").value === "APPOINTED" && $("bt-target").value === "USER";
  $("bt-multi-device").disabled = !userAppointed;
  if (!userAppointed) $("bt-multi-device").checked = false;
  $("bt-threshold").disabled = $("bt-repush").value !== "THRESHOLD";
}
["bt-range", "bt-target", "bt-repush"].forEach(id => $(id).addEventListener("change", applicable));

function edit(bt) {
  editing = bt.id;
  $("bt-id").value = bt.id; $("bt-id").disabled = true;
  $("bt-range").disabled = true; $("bt-target").disabled = true;  // fixed once oplogs are stored by them
  $("bt-description").value = bt.description || "";
  $("bt-range").value = bt.range; $("bt-target").value = bt.target;
  $("bt-multi-device").checked = bt.multiDevice; $("bt-persistent").checked = bt.persistent;
  $("bt-retention").value = bt.retentionDays; $("bt-repush").value = bt.rePushMode;
  $("bt-threshold").value = bt.rePushThreshold; $("bt-status").value = bt.status;
  $("bt-upstream").value = bt.upstreamWebhook || ""; $("bt-receipt").value = bt.receiptWebhook || "";
  $("biz-type-form-title").textContent = "Edit " + bt.id;
  $("bt-save").textContent = "Save"; $("bt-cancel").hidden = false;
  applicable();
  $("bt-multi-device").checked = bt.multiDevice;
}

function resetForm() {
  editing = null;
  $("biz-type-form").reset();
  $("bt-id").disabled = false;
  $("bt-range").disabled = false; $("bt-target").disabled = false;
  applicable();
  $("biz-type-form-title").textContent = "New configuration";
  $("bt-save").textContent = "Create"; $("bt-cancel").hidden = true;
}
$("bt-cancel").addEventListener("click", resetForm);

$("biz-type-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const bt = formBizType();
  const answer = editing ? await api("PUT", "/api/v1/biz-types/" + encodeURIComponent(editing), bt)
                         : await api("POST", "/api/v1/biz-types", bt);
  const message = $("biz-type-message");
  if (answer.body.success) {
    message.className = "message ok";
    message.textContent = (editing ? "Saved " : "Created ") + answer.body.bizType.id + ".";
    resetForm();
    loadBizTypes();
  } else {
    message.className = "message";
    message.textContent = errorText(answer);   // the API's validation message, as it is
  }
});

async function toggle(bt) {
  const status = bt.status === "ONLINE" ? "OFFLINE" : "ONLINE";
  const answer = await api("PUT", "/api/v1/biz-types/" + encodeURIComponent(bt.id), { status });
  $("biz-type-message").className = answer.body.success ? "message ok" : "message";
  $("biz-type-message").textContent = answer.body.success ? bt.id + " is " + status + "." : errorText(answer);
  loadBizTypes();
}

async function remove(id) {
  if (!confirm("Delete the sync configuration " + id + "?")) return;
  let answer = await api("DELETE", "/api/v1/biz-types/" + encodeURIComponent(id));
  if (answer.body.resultCode === "BIZ_TYPE_HAS_DATA"
      && confirm(answer.body.message + "\n\nDelete " + id + " AND all its stored oplogs?")) {
    answer = await api("DELETE", "/api/v1/biz-types/" + encodeURIComponent(id) + "?force=true");
  }
  $("biz-type-message").className = answer.body.success ? "message ok" : "message";
  $("biz-type-message").textContent = answer.body.success ? "Deleted " + id + "." : errorText(answer);
  loadBizTypes();
}

// ---- manual push
async function loadPushBizTypes() {
  const answer = await api("GET", "/api/v1/biz-types");
  const select = $("push-biz-type");
  const chosen = select.value;
  select.innerHTML = "";
  for (const bt of (answer.body.bizTypes || [])) {
    const option = document.createElement("option");
    option.value = bt.id; option.textContent = bt.id + " (" + bt.range + (bt.range === "APPOINTED" ? " " + bt.target : "") + ")";
    option.dataset.range = bt.range;
    select.appendChild(option);
  }
  if (chosen) select.value = chosen;
}
$("push-biz-type").addEventListener("change", () => {
  const option = $("push-biz-type").selectedOptions[0];
  if (option) $("push-target").value = option.dataset.range === "GLOBAL" ? "global" : "link";
});

function list(value) { return value.split(",").map(s => s.trim()).filter(s => s.length > 0); }

$("push-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const global = $("push-target").value === "global";
  const push = { bizType: $("push-biz-type").value, payload: $("push-payload").value };
  if (!global) push.linkToken = $("push-link-token").value.trim();
  if ($("push-third-msg-id").value.trim()) push.thirdMsgId = $("push-third-msg-id").value.trim();
  const os = list($("push-os-type").value);
  if (os.length) push.osType = os;
  if ($("push-app-min").value.trim()) push.appMinVersion = $("push-app-min").value.trim();
  if ($("push-app-max").value.trim()) push.appMaxVersion = $("push-app-max").value.trim();
  const uids = list($("push-uid-list").value);
  if (global && uids.length) push.uidList = uids;
  const start = localMillis($("push-valid-start")), end = localMillis($("push-valid-end"));
  if (start) push.validTimeStart = start;
  if (end) push.validTimeEnd = end;
  const answer = await api("POST", global ? "/api/v1/push/global" : "/api/v1/push", push);
  const result = $("push-result");
  result.className = answer.body.success ? "result" : "result bad";
  result.innerHTML = "";
  const line = (label, value, id) => {
    const p = document.createElement("div");
    p.innerHTML = "<b></b> <span></span>";
    p.querySelector("b").textContent = label;
    p.querySelector("span").textContent = text(value);
    if (id) p.querySelector("span").id = id;
    result.appendChild(p);
  };
  line("resultCode:", answer.body.resultCode, "push-result-code");
  if (answer.body.success) {
    line("oplogId:", answer.body.oplogId, "push-oplog-id");
    if (answer.body.delivered !== undefined) line("delivered to sessions:", answer.body.delivered);
  } else {
    line("message:", answer.body.message);
  }
});

// ---- operation records
async function loadRecords() {
  const params = new URLSearchParams();
  if ($("records-type").value) params.set("type", $("records-type").value);
  if ($("records-biz-type").value.trim()) params.set("bizType", $("records-biz-type").value.trim());
  const from = localMillis($("records-from")), to = localMillis($("records-to"));
  if (from) params.set("from", from);
  if (to) params.set("to", to);
  params.set("limit", "200");
  const answer = await api("GET", "/api/v1/records?" + params);
  const tbody = $("records-list").querySelector("tbody");
  tbody.innerHTML = "";
  $("record-detail").hidden = true;
  $("records-message").textContent = answer.body.success ? "" : errorText(answer);
  for (const record of (answer.body.records || [])) {
    const row = document.createElement("tr");
    row.className = "clickable";
    cell(row, record.id); cell(row, time(record.at)); cell(row, record.type); cell(row, record.bizType);
    cell(row, record.actor);
    cell(row, summary(record.detail || {}));
    row.addEventListener("click", () => {
      $("record-detail").hidden = false;
      $("record-detail").textContent = JSON.stringify(record, null, 2);
    });
    tbody.appendChild(row);
  }
}
/** One line per record: where a push went, or what a configuration change changed. */
function summary(d) {
  if (d.oplogId !== undefined) return (d.linkToken ? "to " + d.linkToken + ", " : "to everyone, ") + "oplog " + d.oplogId + " " + text(d.resultCode);
  if (d.new && d.old) {
    const changed = Object.keys(d.new).filter(k => JSON.stringify(d.new[k]) !== JSON.stringify(d.old[k]));
    return changed.length ? changed.map(k => k + ": " + text(d.old[k]) + " \u2192 " + text(d.new[k])).join(", ") : "no change";
  }
  if (d.old) return "deleted" + (d.hadData ? ", with its stored oplogs" : "");
  if (d.bizType) return "created: " + d.bizType.range + (d.bizType.range === "APPOINTED" ? " " + d.bizType.target : "");
  return "";
}

$("records-form").addEventListener("submit", (event) => { event.preventDefault(); loadRecords(); });

// ---- device and user lookup
$("lookup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const kind = $("lookup-kind").value, id = $("lookup-id").value.trim();
  const answer = await api("GET", "/api/v1/" + (kind === "device" ? "devices/" : "users/") + encodeURIComponent(id));
  const out = $("lookup-result");
  out.innerHTML = "";
  $("lookup-message").textContent = answer.body.success ? "" : errorText(answer);
  if (!answer.body.success) return;
  const b = answer.body;
  const head = document.createElement("div");
  head.className = "card";
  head.innerHTML = "<h3></h3><p><span id='lookup-connected' class='state'></span></p>";
  head.querySelector("h3").textContent = (kind === "device" ? "Device " + b.deviceId + (b.userId ? " (user " + b.userId + ")" : "") : "User " + b.userId);
  // offline means "known here, not connected now"; never seen is usually a mistyped id
  const state = b.connected ? "connected" : b.seen ? "offline" : "never";
  const stateLine = head.querySelector("#lookup-connected");
  stateLine.classList.add(state);
  stateLine.dataset.state = state;
  stateLine.textContent = state === "connected" ? "Connected: " + b.sessions.length + " session(s)"
    : state === "offline" ? "Offline: not connected now; what it has acknowledged is below"
    : "Never seen: no sync point or ack is stored for this " + (kind === "device" ? "deviceId" : "userId") + " — check the id";
  out.appendChild(head);
  if (state === "never") return;
  if (b.sessions.length) {
    out.appendChild(table(["Session", "Device", "User", "From", "Connected since", "OS / app", "Backlog"],
      b.sessions.map(s => [s.sessionId, s.deviceId, s.userId, s.remoteAddress, time(s.connectedAt), s.osType + " " + s.appVersion, s.backlog]), "lookup-sessions"));
  }
  if (kind === "device") {
    out.appendChild(title("Sync points"));
    out.appendChild(table(["bizType", "Scope", "Status", "Sync point", "Last oplog", "Backlog", "Reading now"],
      b.syncPoints.map(p => [p.bizType, p.scope, p.status, p.syncPoint, p.lastOplogId, p.backlog, p.subscribed ? "yes, sent up to " + p.sentUpTo : "no"]), "lookup-sync-points"));
    out.appendChild(title("Last acks (since the server started)"));
    out.appendChild(table(["Time", "bizType", "Scope", "Sync point"],
      b.lastAcks.map(a => [time(a.ackedAt), a.bizType, a.scope + (a.owner ? " " + a.owner : ""), a.syncPoint]), "lookup-acks"));
  } else {
    out.appendChild(title("USER bizTypes"));
    const rows = [];
    for (const bt of b.bizTypes) for (const d of bt.devices) rows.push([bt.bizType, bt.lastOplogId, d.deviceId, d.syncPoint, d.backlog, time(d.ackedAt)]);
    out.appendChild(table(["bizType", "Last oplog", "Device", "Sync point", "Backlog", "Last ack"], rows, "lookup-sync-points"));
  }
});

function title(textContent) { const h = document.createElement("h3"); h.textContent = textContent; return h; }

function table(headers, rows, id) {
  const t = document.createElement("table");
  t.id = id;
  const head = t.createTHead().insertRow();
  for (const h of headers) { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); }
  const body = t.createTBody();
  if (!rows.length) { const r = body.insertRow(); const c = r.insertCell(); c.colSpan = headers.length; c.textContent = "none"; }
  for (const row of rows) { const r = body.insertRow(); for (const v of row) r.insertCell().textContent = text(v); }
  return t;
}

// ---- live overview: the server samples its stats every two seconds whether or not this page
// is open (GET /api/v1/stats/history); the page fetches the samples it does not have yet, derives
// rates, and draws the last five minutes — time spent on other pages included
const overview = (() => {
  const POINTS = 150, PERIOD_MS = 2000;
  const series = { t: [], connections: [], pushes: [], deliveries: [], p50: [], p95: [], p99: [], backlog: [] };
  let timer = null, last = null, charts = null, ticks = 0;

  function chart(id, title, lines) {
    const el = $(id);
    return new uPlot({ title, width: Math.max(300, el.clientWidth - 12), height: 220,
      series: [{}].concat(lines.map(([label, stroke]) => ({ label, stroke, width: 2 }))),
      axes: [{}, { size: 60 }] }, [[]].concat(lines.map(() => [])), el);
  }

  function make() {
    charts = {
      connections: chart("chart-connections", "Connections", [["connections", "#1565c0"]]),
      rates: chart("chart-rates", "Pushes and deliveries per second", [["pushes/s", "#e65100"], ["deliveries/s", "#2e7d32"]]),
      latency: chart("chart-latency", "Delivery latency (ms)", [["p50", "#6a1b9a"], ["p95", "#c2185b"], ["p99", "#b71c1c"]]),
      backlog: chart("chart-backlog", "Backlog of connected devices (oplogs)", [["backlog", "#455a64"]])
    };
  }

  function add(s) {
    const now = s.timestamp / 1000;
    const rate = (field) => last ? Math.max(0, (s[field] - last[field]) / Math.max(0.001, now - last.timestamp / 1000)) : 0;
    const push = (k, v) => { series[k].push(v); if (series[k].length > POINTS) series[k].shift(); };
    push("t", now); push("connections", s.connections); push("pushes", rate("pushes")); push("deliveries", rate("deliveries"));
    push("p50", s.deliveryLatencyMs.p50 || 0); push("p95", s.deliveryLatencyMs.p95 || 0); push("p99", s.deliveryLatencyMs.p99 || 0);
    push("backlog", s.backlog);
    last = s;
  }

  async function tick() {
    const answer = await api("GET", "/api/v1/stats/history?since=" + (last ? last.timestamp : 0));
    if (!answer.body.success) return;
    answer.body.samples.forEach(add);
    if (!last) return;
    const s = last;
    $("page-overview").dataset.samples = series.t.length;
    $("tile-connections").textContent = s.connections;
    $("tile-pushes").textContent = series.pushes[series.pushes.length - 1].toFixed(1);
    $("tile-deliveries").textContent = series.deliveries[series.deliveries.length - 1].toFixed(1);
    $("tile-latency").textContent = (s.deliveryLatencyMs.p99 || 0).toFixed(1);
    $("tile-backlog").textContent = s.backlog;
    if (!charts) make();
    for (const [name, c] of Object.entries(charts)) {
      // follows the page's layout: the charts may have been made while it was hidden or narrower
      const width = Math.max(300, $("chart-" + name).clientWidth - 12);
      if (c.width !== width) c.setSize({ width, height: 220 });
    }
    charts.connections.setData([series.t, series.connections]);
    charts.rates.setData([series.t, series.pushes, series.deliveries]);
    charts.latency.setData([series.t, series.p50, series.p95, series.p99]);
    charts.backlog.setData([series.t, series.backlog]);
    if (++ticks % 5 === 1) loadNodes(); // the nodes announce themselves every few seconds
  }

  async function loadNodes() {
    const answer = await api("GET", "/api/v1/nodes");
    if (!answer.body.success) return;
    const rows = answer.body.nodes.map(n => [n.nodeId, n.syncAddress, n.httpAddress, time(n.startedAt),
      time(n.lastHeartbeat), n.connections]);
    $("nodes").replaceChildren(table(["Node", "Sync address", "HTTP address", "Started", "Last heartbeat",
      "Connections"], rows, "node-list"));
  }

  return {
    active(on) {
      if (on && !timer) { ticks = 0; tick(); timer = setInterval(tick, PERIOD_MS); }
      if (!on && timer) { clearInterval(timer); timer = null; }
    }
  };
})();

applicable();
show(location.hash.slice(1) || "overview");
