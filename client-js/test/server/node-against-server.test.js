// The SDK in Node against a real server over wss:// (ws package, trusting only the server's
// certificate): catch-up in order, live pushes, user switch, upstream, FULL_UPDATE after
// threshold trimming, a SIGKILLed server, and refusals.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket } from "ws";
import { MssClient, FileStorage } from "../../dist/node.js";
import { MssServer } from "../mss-server.js";
import { until } from "../support.js";

let server;
let backend;
const upstreamSeen = [];
before(async () => {
  // the business backend's upstream webhook
  backend = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      upstreamSeen.push(JSON.parse(body));
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ code: "ACCEPTED", payload: "echo:" + JSON.parse(body).payload }));
    });
  }).listen(0, "127.0.0.1");
  await new Promise((r) => backend.once("listening", r));
  server = await MssServer.start();
  await server.bizType("ORDER-STATUS", { upstreamWebhook: `http://127.0.0.1:${backend.address().port}/up` });
  await server.bizType("FEED", { rePushMode: "THRESHOLD", rePushThreshold: 3 });
});
after(async () => { await server.stop(); backend.close(); });

function sdk(deviceId, extra = {}) {
  return new MssClient({ url: server.url, deviceId, autoAck: true, reconnectBackoffMs: [100, 1000],
    storage: new FileStorage(join(mkdtempSync(join(tmpdir(), "mss-js-node-")), "inbox.json")),
    getToken: (did, uid) => server.token(did, uid),
    createWebSocket: (url) => new WebSocket(url, { ca: server.cert }), ...extra });
}

test("pushes made while offline arrive in order, then live ones; a SIGKILLed server loses nothing", async () => {
  for (let i = 1; i <= 20; i++) await server.push("ORDER-STATUS", "alice", "offline " + i);
  const c = sdk("node-1");
  const seen = [];
  c.registerBiz("ORDER-STATUS", (m) => { seen.push(m.payload); });
  c.updateUserInfo("alice");
  c.appToForeground();
  await until(() => seen.length === 20, "the catch-up");
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => "offline " + (i + 1)));
  await server.push("ORDER-STATUS", "alice", "live 21");
  await until(() => seen.length === 21, "a live push");

  await server.kill();
  await until(() => !c.isConnected(), "the disconnect");
  await server.restart();
  await server.push("ORDER-STATUS", "alice", "after restart 22");
  await until(() => seen.length === 22, "the push after the restart");
  assert.equal(seen.at(-1), "after restart 22");
  assert.equal(new Set(seen).size, 22, "nothing twice");
  c.close();
});

test("user switch: bob never gets alice's messages; upstream round trip through the webhook", async () => {
  await server.push("ORDER-STATUS", "carol", "for carol");
  await server.push("ORDER-STATUS", "dave", "for dave");
  const c = sdk("node-2");
  const seen = [];
  c.registerBiz("ORDER-STATUS", (m) => { seen.push(m.userId + ":" + m.payload); });
  c.updateUserInfo("carol");
  c.appToForeground();
  await until(() => seen.includes("carol:for carol"));
  c.updateUserInfo("dave");
  await until(() => seen.includes("dave:for dave"));
  assert.deepEqual(seen, ["carol:for carol", "dave:for dave"]);
  const reply = await c.sendMessage("ORDER-STATUS", "hello backend");
  assert.equal(reply.success, true);
  assert.equal(reply.payload, "echo:hello backend");
  assert.equal(upstreamSeen.at(-1).userId, "dave");
  c.close();
});

test("a backlog over a THRESHOLD bizType's limit gives FULL_UPDATE and the newest oplogs only", async () => {
  for (let i = 1; i <= 8; i++) await server.push("FEED", "erin", "feed " + i);
  const c = sdk("node-3");
  const seen = [];
  const full = [];
  c.registerBiz("FEED", (m) => { seen.push(m.payload); }, { onFullUpdate: (biz, restart) => full.push([biz, restart]) });
  c.updateUserInfo("erin");
  c.appToForeground();
  await until(() => seen.length === 3 && full.length === 1, "the trimmed catch-up");
  assert.deepEqual(seen, ["feed 6", "feed 7", "feed 8"]);
  assert.equal(full[0][0], "FEED");
  c.close();
});

test("a bad token is refused with INVALID_TOKEN", async () => {
  const c = sdk("node-4", { getToken: () => "not-a-token" });
  const errors = [];
  c.on("error", (e) => errors.push(e));
  c.registerBiz("ORDER-STATUS", () => {});
  c.appToForeground();
  await until(() => errors.length > 0);
  assert.equal(errors[0].code, "INVALID_TOKEN");
  assert.equal(errors[0].retry, false);
  c.close();
});
