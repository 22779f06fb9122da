// A scripted peer for unit tests: a plain ws:// WebSocket server on loopback that decodes what
// the SDK sends and sends what the test scripts. The SDK under test is the real one (dist/).
import { WebSocketServer, WebSocket } from "ws";
import * as pb from "../dist/proto.js";

export { pb };

export class ScriptedServer {
  constructor() {
    this.connections = [];
    this.waiters = [];
    this.wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    this.wss.on("connection", (socket) => {
      const conn = { socket, frames: [], closed: false };
      socket.on("message", (data) => {
        conn.frames.push(pb.ClientFrame.fromBinary(new Uint8Array(data)));
        this.poke();
      });
      socket.on("close", () => { conn.closed = true; this.poke(); });
      this.connections.push(conn);
      this.poke();
    });
  }
  ready() { return this.wss.address() ? Promise.resolve(this) : new Promise((r) => this.wss.once("listening", () => r(this))); }
  get url() { return `ws://127.0.0.1:${this.wss.address().port}/sync`; }
  poke() { for (const w of [...this.waiters]) w(); }
  /** Resolves when check() returns a truthy value; rejects after 10 s. */
  until(check, what = "condition") {
    return new Promise((resolve, reject) => {
      const test = () => {
        const value = check();
        if (value) { this.waiters = this.waiters.filter((w) => w !== test); clearTimeout(timer); resolve(value); }
      };
      const timer = setTimeout(() => { this.waiters = this.waiters.filter((w) => w !== test);
        reject(new Error("timed out waiting for " + what)); }, 10_000);
      this.waiters.push(test);
      test();
    });
  }
  open() { return this.connections.filter((c) => !c.closed); }
  async hello(index = 0) {
    const conn = await this.until(() => this.connections[index]?.frames.find((f) => f.kind.case === "hello")
      && this.connections[index], "Hello");
    return { conn, hello: conn.frames.find((f) => f.kind.case === "hello").kind.value };
  }
  send(conn, kind) { conn.socket.send(new pb.ServerFrame({ kind }).toBinary()); }
  welcome(conn, userId = "") {
    this.send(conn, { case: "welcome", value: new pb.Welcome({ version: 2, sessionId: "s" + this.connections.length,
      heartbeatIntervalMs: 30000, userId, deviceId: "d", maxFrameBytes: 1 << 20 }) });
  }
  syncData(conn, batches, hasMore = false) {
    this.send(conn, { case: "syncData", value: new pb.SyncData({ hasMore, batches: batches.map((b) => new pb.BizBatch({
      bizType: b.biz, scope: pb.ScopeKind[b.scope ?? "USER"], epoch: BigInt(b.epoch ?? 0), ephemeral: !!b.ephemeral,
      oplogs: b.ids.map((id) => new pb.Oplog({ id: BigInt(id), payload: b.payload?.(id) ?? `${b.biz}#${id}`,
        createdAt: BigInt(Date.now()) })) })) }) });
  }
  fullUpdate(conn, biz, scope, epoch, restart) {
    this.send(conn, { case: "command", value: new pb.Command({ type: pb.CommandType.FULL_UPDATE, bizType: biz,
      scope: pb.ScopeKind[scope], epoch: BigInt(epoch), restart }) });
  }
  acks(conn) {
    return conn.frames.filter((f) => f.kind.case === "ack").flatMap((f) => f.kind.value.syncPoints)
      .map((p) => ({ biz: p.bizType, id: Number(p.id), epoch: Number(p.epoch) }));
  }
  close() {
    for (const c of this.connections) c.socket.terminate();
    return new Promise((r) => this.wss.close(r));
  }
}

/** Waits for a condition without a server: polls each 10 ms, fails after 10 s. */
export async function until(check, what = "condition", timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function client(MssClient, server, extra = {}) {
  return new MssClient({ url: server.url, deviceId: "d", getToken: () => "token", createWebSocket: (u) => new WebSocket(u),
    reconnectBackoffMs: [20, 200], redeliveryBackoffMs: [5, 20], ...extra });
}
