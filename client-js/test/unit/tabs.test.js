// Several clients of one name in one process coordinate over BroadcastChannel as browser tabs
// do when Web Locks are missing: one connection, every message once to every "tab", and a
// takeover without loss when the leader closes. IndexedDB is fake-indexeddb's, shared by both.
import "fake-indexeddb/auto";
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { MssClient, IndexedDbStorage } from "../../dist/node.js";
import { WebSocket } from "ws";
import { ScriptedServer, client, until } from "../support.js";

let server;
let clients;
beforeEach(async () => { server = await new ScriptedServer().ready(); clients = []; });
afterEach(async () => { clients.forEach((c) => c.close()); await server.close(); });

const localStorageStub = () => { // the marks' synchronous store, shared by the "tabs" as localStorage is
  const map = new Map();
  return { get length() { return map.size; }, key: (i) => [...map.keys()][i] ?? null, getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => map.set(k, String(v)), removeItem: (k) => map.delete(k) };
};

test("two tabs hold one connection, both dispatch every message once, and the survivor takes over", async () => {
  const name = "tabs-" + Math.random();
  const local = localStorageStub();
  const tab = (label, seen) => {
    const c = client(MssClient, server, { name, shareConnection: true, autoAck: true,
      storage: new IndexedDbStorage(name, indexedDB, local) });
    c.registerBiz("NEWS", (m) => { seen.push(m.id); });
    c.appToForeground();
    clients.push(c);
    return c;
  };
  const seenA = [], seenB = [];
  const a = tab("a", seenA);
  const b = tab("b", seenB);
  const { conn } = await server.hello();
  server.welcome(conn);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(server.connections.length, 1, "one connection for both tabs");
  const leader = a.isLeader() ? a : b;
  const follower = leader === a ? b : a;
  server.syncData(conn, [{ biz: "NEWS", scope: "GLOBAL", ids: [1, 2, 3], epoch: 5 }]);
  await until(() => seenA.length === 3 && seenB.length === 3, "both tabs");
  assert.deepEqual(seenA, [1, 2, 3]);
  assert.deepEqual(seenB, [1, 2, 3]);

  leader.close();
  const second = await server.hello(1);
  assert.ok(follower.isLeader());
  assert.deepEqual(second.hello.syncPoints.map((p) => [Number(p.id), Number(p.epoch)]), [[3, 5]],
    "the new leader resumes from the shared sync point");
  server.welcome(second.conn);
  server.syncData(second.conn, [{ biz: "NEWS", scope: "GLOBAL", ids: [3, 4], epoch: 5 }]);
  const seen = follower === a ? seenA : seenB;
  await until(() => seen.length === 4, "the message after the takeover");
  assert.deepEqual(seen, [1, 2, 3, 4], "nothing lost, nothing twice");
});

/** A real WebSocket whose open the SDK hears only once {@code gate} resolves: a slow handshake. */
const heldOpen = (url, gate) => {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const held = { binaryType: "arraybuffer", onopen: null, onmessage: null, onclose: null, onerror: null,
    get readyState() { return ws.readyState; }, send: (d) => ws.send(d), close: (c, r) => ws.close(c, r) };
  ws.onopen = (e) => { void gate.then(() => held.onopen?.(e)); };
  ws.onmessage = (e) => held.onmessage?.(e);
  ws.onclose = (e) => held.onclose?.(e);
  ws.onerror = (e) => held.onerror?.(e);
  return held;
};

test("a bizType another tab adds while the leader's socket is opening goes into that socket's Hello", async () => {
  const name = "opening-" + Math.random();
  const local = localStorageStub();
  let release;
  const gate = new Promise((r) => { release = r; });
  let creator = null;
  const tab = (label) => {
    const c = client(MssClient, server, { name, shareConnection: true, autoAck: true,
      storage: new IndexedDbStorage(name, indexedDB, local),
      createWebSocket: (u) => { creator = creator ?? label; return heldOpen(u, gate); } });
    c.registerBiz("NEWS-" + label, () => {});
    c.appToForeground();
    clients.push(c);
    return c;
  };
  const tabs = { a: tab("a"), b: tab("b") };
  await until(() => creator !== null, "the leader's socket");
  (creator === "a" ? tabs.b : tabs.a).registerBiz("CHAT", () => {});
  // the leader hears of CHAT while its socket is still opening; it used to drop that socket for it
  await new Promise((r) => setTimeout(r, 300));
  release();
  await server.until(() => server.connections.some((c) => c.frames.some((f) => f.kind.case === "hello"
    && f.kind.value.bizTypes.includes("CHAT"))), "a Hello naming CHAT");
  assert.ok(server.connections[0].frames.some((f) => f.kind.case === "hello"),
    "the socket that was opening sent its Hello instead of being dropped");
  assert.deepEqual([...(await server.hello()).hello.bizTypes].sort(), ["CHAT", "NEWS-a", "NEWS-b"]);
});

test("a message stored by the old leader and not dispatched yet reaches the new leader's callback once", async () => {
  const name = "takeover-" + Math.random();
  const local = localStorageStub();
  const seenB = [];
  const a = client(MssClient, server, { name, shareConnection: true, storage: new IndexedDbStorage(name, indexedDB, local) });
  clients.push(a);
  a.appToForeground(); // a registers nothing: it only holds the connection
  a.registerBiz("OTHER", () => {});
  const { conn } = await server.hello();
  server.welcome(conn);
  const b = client(MssClient, server, { name, shareConnection: true, autoAck: true,
    storage: new IndexedDbStorage(name, indexedDB, local) });
  clients.push(b);
  b.registerBiz("NEWS", (m) => { seenB.push(m.id); });
  b.appToForeground();
  // the leader reconnects with b's bizType in its Hello
  const withNews = await server.until(() => server.connections.find((c) => c.frames.some((f) => f.kind.case === "hello"
    && f.kind.value.bizTypes.includes("NEWS"))), "a Hello naming b's bizType");
  server.welcome(withNews);
  server.syncData(withNews, [{ biz: "NEWS", scope: "GLOBAL", ids: [1, 2], epoch: 9 }]);
  await until(() => seenB.length === 2);
  a.close();
  await server.until(() => server.connections.length >= 3 && server.connections.at(-1).frames.length > 0, "b connects");
  const last = server.connections.at(-1);
  server.welcome(last);
  server.syncData(last, [{ biz: "NEWS", scope: "GLOBAL", ids: [2, 3], epoch: 9 }]);
  await until(() => seenB.length === 3);
  assert.deepEqual(seenB, [1, 2, 3]);
});
