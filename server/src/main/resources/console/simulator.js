// The console's device simulator: one MssClient in this tab, on the admin key the console signed in with.
// Its storage is memory, so the simulated device starts fresh on each connect (the server keeps its sync points).
import { MssClient, MemoryStorage } from "/console/sdk/mss-client.js";

const KEY = "mss.apiKey";
const $ = (selector) => document.querySelector(selector);
let client = null;

async function token(deviceId, userId) {
  const answer = await fetch("/api/v1/tokens", { method: "POST", headers: { "Authorization": "Bearer "
    + (sessionStorage.getItem(KEY) || ""), "Content-Type": "application/json" },
    body: JSON.stringify({ deviceId, userId: userId || undefined, ttlSeconds: 300 }) });
  const body = await answer.json();
  if (!answer.ok) throw new Error(body.resultCode + ": " + body.message + " (sign in to the console with an admin key)");
  return body;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = String(text);
  row.appendChild(td);
  return td;
}

async function showSyncPoints() {
  const body = $("#sync-points tbody");
  body.replaceChildren();
  for (const p of client ? await client.syncPoints() : []) {
    const row = document.createElement("tr");
    [p.bizType, p.scope, p.id, p.epoch].forEach((v) => cell(row, v));
    body.appendChild(row);
  }
}

$("#device").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const deviceId = String(form.get("deviceId")).trim();
  const userId = String(form.get("userId")).trim();
  const bizTypes = String(form.get("bizTypes")).split(",").map((b) => b.trim()).filter(Boolean);
  try {
    const first = await token(deviceId, userId);
    if (first.wsPort < 0) throw new Error("the WebSocket transport is off on this node (ws-port: -1)");
    const url = (first.wsSecure ? "wss://" : "ws://") + location.hostname + ":" + first.wsPort + "/sync";
    client?.close();
    client = new MssClient({ url, deviceId, storage: new MemoryStorage(), shareConnection: false, autoAck: true,
      name: "console-simulator-" + deviceId, getToken: async (did, uid) => (await token(did, uid ?? "")).token });
    client.on("connected", (session, user) => { $("#status").textContent = "Connected: session " + session
      + (user ? ", user " + user : ", anonymous") + ", " + url; });
    client.on("disconnected", (reason, retry) => { $("#status").textContent = "Disconnected: " + reason
      + (retry ? " (reconnecting)" : ""); });
    client.on("error", (e) => { $("#status").textContent = "Refused: " + e.code + ": " + e.message; });
    client.on("ack", () => void showSyncPoints());
    client.on("fullUpdate", (biz, restart) => addRow({ bizType: biz, scope: "—", id: "FULL_UPDATE",
      payload: restart ? "restart: the sync point is from another timeline" : "some oplogs were trimmed" }, "—"));
    for (const biz of bizTypes) client.registerBiz(biz, (m) => { addRow(m, "acked"); });
    if (userId) client.updateUserInfo(userId);
    client.appToForeground();
    $("#disconnect").disabled = false;
    $("#status").textContent = "Connecting to " + url + " …";
  } catch (e) {
    $("#status").textContent = String(e.message || e);
  }
});

function addRow(m, ack) {
  const row = document.createElement("tr");
  row.className = "message";
  [new Date().toLocaleTimeString(), m.bizType, m.scope, m.id, m.payload, m.ephemeral ? "ephemeral (no ack)" : ack]
    .forEach((v) => cell(row, v));
  $("#messages tbody").prepend(row);
}

$("#disconnect").addEventListener("click", () => {
  client?.close();
  client = null;
  $("#disconnect").disabled = true;
  $("#status").textContent = "Not connected.";
});
