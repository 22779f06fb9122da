// The SDK against a scripted server: inbox before ack, ordering, resends, retries and drops,
// users, epochs and FULL_UPDATE, ephemeral batches.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MssClient, FileStorage, MemoryStorage } from "../../dist/node.js";
import { ScriptedServer, client, until } from "../support.js";

let server;
let clients = [];
beforeEach(async () => { server = await new ScriptedServer().ready(); clients = []; });
afterEach(async () => { clients.forEach((c) => c.close()); await server.close(); });
const make = (extra) => { const c = client(MssClient, server, extra); clients.push(c); return c; };

test("an oplog is in the inbox before its ack, and a restarted client resumes from its sync points", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "mss-js-")), "inbox.json");
  const storage = new FileStorage(file);
  const order = [];
  const write = storage.write.bind(storage);
  storage.write = async (change) => { await write(change); order.push("stored " + (change.messages ?? []).map((m) => m.id)); };
  const a = make({ storage });
  a.registerBiz("ORDER", (m) => { order.push("dispatched " + m.id); });   // never acks: stays in the inbox
  a.updateUserInfo("alice");
  a.appToForeground();
  const { conn, hello } = await server.hello();
  assert.equal(hello.userId, "alice");
  assert.deepEqual(hello.bizTypes, ["ORDER"]);
  server.welcome(conn, "alice");
  server.syncData(conn, [{ biz: "ORDER", ids: [1, 2, 3], epoch: 77 }]);
  await server.until(() => server.acks(conn).length === 1, "ack");
  assert.equal(order[0], "stored 1,2,3");
  assert.deepEqual(server.acks(conn), [{ biz: "ORDER", id: 3, epoch: 77 }]);
  a.close();

  const seen = [];
  const b = make({ storage: new FileStorage(file) });
  b.registerBiz("ORDER", async (m) => { seen.push(m.id); });
  b.updateUserInfo("alice");
  await until(() => seen.length === 3, "the inbox dispatched after a restart");
  assert.deepEqual(seen, [1, 2, 3]);
  b.appToForeground();
  const second = await server.hello(1);
  assert.deepEqual(second.hello.syncPoints.map((p) => [p.bizType, Number(p.id), Number(p.epoch)]), [["ORDER", 3, 77]]);
});

test("dispatch is ordered per scope, one at a time, and resends at or below the sync point are dropped", async () => {
  const c = make({ storage: new MemoryStorage() });
  const seen = [];
  let inFlight = 0;
  const handler = (m) => new Promise((resolve) => {
    inFlight++;
    assert.ok(inFlight <= 2, "at most one per scope (two scopes)");
    seen.push(`${m.bizType}#${m.id}`);
    setTimeout(() => { inFlight--; resolve(); }, 2);
  });
  c.registerBiz("A", handler);
  c.registerBiz("B", handler);
  c.appToForeground();
  const { conn } = await server.hello();
  server.welcome(conn);
  server.syncData(conn, [{ biz: "A", scope: "DEVICE", ids: [1, 2] }, { biz: "B", scope: "GLOBAL", ids: [1] }]);
  server.syncData(conn, [{ biz: "A", scope: "DEVICE", ids: [2, 3] }, { biz: "B", scope: "GLOBAL", ids: [1, 2] }]);
  await until(() => seen.length === 5, "five messages");
  const a = seen.filter((s) => s.startsWith("A")), b = seen.filter((s) => s.startsWith("B"));
  assert.deepEqual(a, ["A#1", "A#2", "A#3"]);
  assert.deepEqual(b, ["B#1", "B#2"]);
});

test("a failing callback is tried 6 times, then dropped with a callback, and the scope moves on", async () => {
  const c = make({ storage: new MemoryStorage() });
  const calls = [];
  const dropped = [];
  c.registerBiz("A", (m) => { calls.push(m.id); return m.id === 1 ? Promise.reject(new Error("boom")) : Promise.resolve(); },
    { onMessageDropped: (m, reason) => dropped.push([m.id, reason]) });
  let flaky = 0;
  c.registerBiz("B", () => (++flaky < 6 ? Promise.reject(new Error("not yet")) : Promise.resolve()));
  const events = [];
  c.on("messageDropped", (m) => events.push(m.id));
  c.appToForeground();
  const { conn } = await server.hello();
  server.welcome(conn);
  server.syncData(conn, [{ biz: "A", scope: "DEVICE", ids: [1, 2] }, { biz: "B", scope: "DEVICE", ids: [1] }]);
  await until(() => calls.includes(2) && flaky === 6, "the drop and the recovery");
  assert.deepEqual(calls, [1, 1, 1, 1, 1, 1, 2]);
  assert.equal(dropped.length, 1);
  assert.match(dropped[0][1], /boom/);
  assert.deepEqual(events, [1]);
});

test("USER messages are never dispatched to another user; they wait for their own", async () => {
  const c = make({ storage: new MemoryStorage() });
  const seen = [];
  c.registerBiz("CHAT", (m) => { seen.push(`${m.userId}:${m.id}`); });   // no ack: alice's second waits
  c.updateUserInfo("alice");
  c.appToForeground();
  let { conn } = await server.hello();
  server.welcome(conn, "alice");
  server.syncData(conn, [{ biz: "CHAT", ids: [1, 2] }]);
  await until(() => seen.length === 1);
  c.updateUserInfo("bob");
  ({ conn } = await server.hello(1));
  assert.equal((await server.hello(1)).hello.userId, "bob");
  assert.deepEqual((await server.hello(1)).hello.syncPoints, [], "alice's sync point is not sent for bob");
  server.welcome(conn, "bob");
  server.syncData(conn, [{ biz: "CHAT", ids: [1] }]);
  await until(() => seen.includes("bob:1"));
  c.reportMsgReceived({ bizType: "CHAT", scope: "USER", id: 1, epoch: 0, userId: "alice" }); // not current: ignored
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen, ["alice:1", "bob:1"]);
});

test("FULL_UPDATE with restart drops what is undispatched and starts the scope over at (epoch, 0)", async () => {
  const c = make({ storage: new MemoryStorage() });
  const seen = [];
  const full = [];
  c.registerBiz("ORDER", (m) => { seen.push(`${m.epoch}:${m.id}`); return m.id === 30 ? new Promise(() => {}) : undefined; },
    { onFullUpdate: (biz, restart) => full.push([biz, restart]) });
  c.updateUserInfo("alice");
  c.appToForeground();
  const { conn } = await server.hello();
  server.welcome(conn, "alice");
  server.syncData(conn, [{ biz: "ORDER", ids: [30, 31, 32], epoch: 7315 }]);
  await until(() => seen.length === 1);
  server.fullUpdate(conn, "ORDER", "USER", 2208, true);
  server.syncData(conn, [{ biz: "ORDER", ids: [1, 2], epoch: 2208 }]);
  await until(() => seen.length === 2, "the new timeline");
  assert.deepEqual(full, [["ORDER", true]]);
  assert.deepEqual(seen, ["7315:30", "2208:1"], "31 and 32 of the old timeline are never dispatched");
  await server.until(() => server.acks(conn).some((a) => a.epoch === 2208 && a.id === 2), "ack on the new epoch");
  const points = await c.syncPoints();
  assert.deepEqual(points.map((p) => [p.id, p.epoch]), [[2, 2208]]);
});

test("a batch of another epoch without FULL_UPDATE is treated as a restart; without restart a gap keeps the sync point", async () => {
  const c = make({ storage: new MemoryStorage(), autoAck: true });
  const seen = [];
  const full = [];
  c.registerBiz("NEWS", (m) => { seen.push(`${m.epoch}:${m.id}`); }, { onFullUpdate: (b, r) => full.push(r) });
  c.appToForeground();
  const { conn } = await server.hello();
  server.welcome(conn);
  server.syncData(conn, [{ biz: "NEWS", scope: "GLOBAL", ids: [5, 6], epoch: 11 }]);
  await until(() => seen.length === 2);
  server.fullUpdate(conn, "NEWS", "GLOBAL", 11, false);
  server.syncData(conn, [{ biz: "NEWS", scope: "GLOBAL", ids: [9], epoch: 11 }]);
  await until(() => seen.length === 3);
  server.syncData(conn, [{ biz: "NEWS", scope: "GLOBAL", ids: [1], epoch: 12 }]);
  await until(() => seen.length === 4);
  assert.deepEqual(seen, ["11:5", "11:6", "11:9", "12:1"]);
  assert.deepEqual(full, [false, true]);
});

test("ephemeral batches are dispatched but never stored or acked", async () => {
  const c = make({ storage: new MemoryStorage(), autoAck: true });
  const seen = [];
  c.registerBiz("LIVE", (m) => { seen.push([m.id, m.ephemeral]); });
  c.appToForeground();
  const { conn } = await server.hello();
  server.welcome(conn);
  server.syncData(conn, [{ biz: "LIVE", scope: "DEVICE", ids: [4], ephemeral: true }]);
  server.syncData(conn, [{ biz: "LIVE", scope: "DEVICE", ids: [1], epoch: 3 }]);
  await until(() => seen.length === 2);
  assert.deepEqual(seen, [[4, true], [1, false]]);
  await server.until(() => server.acks(conn).length === 1);
  assert.deepEqual(server.acks(conn), [{ biz: "LIVE", id: 1, epoch: 3 }]);
  assert.deepEqual((await c.syncPoints()).map((p) => p.id), [1]);
});

test("reconnects with backoff after the server drops the connection, and resends unanswered upstream messages", async () => {
  const c = make({ storage: new MemoryStorage() });
  c.registerBiz("CHAT", () => {});
  c.appToForeground();
  let { conn } = await server.hello();
  server.welcome(conn);
  const reply = c.sendMessage("CHAT", "hi");
  const upstreamOf = (cn) => cn.frames.find((f) => f.kind.case === "upstream")?.kind.value;
  const first = await server.until(() => upstreamOf(conn));
  conn.socket.terminate();
  ({ conn } = await server.hello(1));
  server.welcome(conn);
  const again = await server.until(() => upstreamOf(conn));
  assert.equal(again.clientMsgId, first.clientMsgId);
  server.send(conn, { case: "upstreamResult", value: { clientMsgId: first.clientMsgId, success: true, code: "ACCEPTED",
    payload: "ok", message: "" } });
  assert.equal((await reply).code, "ACCEPTED");
});
