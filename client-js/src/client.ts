/**
 * The MSS client for browsers and Node.js. Everything runs on the page's (or Node's) single
 * event loop: no method blocks, callbacks are called from it one scope step at a time, and
 * storage writes are chained in arrival order so an ack never overtakes the write it confirms.
 *
 * In a browser the tabs of one app share one connection (see tabs.ts): the leader tab stores
 * every SyncData in the shared inbox before acking it and tells the other tabs; every tab
 * dispatches every message to its own callbacks exactly once, in order per scope.
 */
import { TabGroup, type TabMessage } from "./tabs.js";
import { IndexedDbStorage, MemoryStorage, type MssStorage, type ScopeMark, type ScopeName, type ScopeState,
  type StoredMessage } from "./storage.js";
import * as wire from "./wire.js";
import type { Command, SyncData } from "./gen/mss_pb.js";

export const MAX_DELIVERY_ATTEMPTS = 6;
export const MAX_UPSTREAM_PAYLOAD_CHARS = 4096;

export interface SyncMessage {
  bizType: string;
  scope: ScopeName;
  id: number;
  epoch: number;
  payload: string;
  createdAt: number;
  /** the USER scope's user; null for DEVICE and GLOBAL */
  userId: string | null;
  /** a non-persistent push: dispatched once, never stored, never acked */
  ephemeral: boolean;
}

export interface UpstreamReply {
  clientMsgId: string;
  success: boolean;
  code: string;
  payload: string;
  message: string;
}

/** A callback that returns a promise is acked when it resolves and retried when it rejects. */
export type MessageCallback = (message: SyncMessage) => unknown;

export interface BizOptions {
  onFullUpdate?: (bizType: string, restart: boolean) => void;
  onMessageDropped?: (message: SyncMessage, reason: string) => void;
}

/** What `new WebSocket(url)` returns, as far as the client uses it; `ws` in Node fits. */
export interface WebSocketLike {
  binaryType: string;
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export interface MssClientOptions {
  /** wss://host:7444/sync */
  url: string;
  deviceId: string;
  /** Called before every connection attempt; the business backend mints the token. */
  getToken: (deviceId: string, userId: string | null) => Promise<string> | string;
  /** Default: IndexedDB (+ localStorage marks) in browsers, memory elsewhere. */
  storage?: MssStorage;
  /** Default: globalThis.WebSocket. In Node 20 pass one from the `ws` package. */
  createWebSocket?: (url: string) => WebSocketLike;
  /** Share one connection among the tabs of this origin; default true where BroadcastChannel and a document exist. */
  shareConnection?: boolean;
  /** Names the storage and the tab group; default `deviceId`. */
  name?: string;
  autoAck?: boolean;
  ackTimeoutMs?: number;
  redeliveryBackoffMs?: [number, number];
  reconnectBackoffMs?: [number, number];
  connectTimeoutMs?: number;
  upstreamTimeoutMs?: number;
  osType?: string;
  appVersion?: string;
}

type Events = {
  connected: (sessionId: string, userId: string | null) => void;
  disconnected: (reason: string, willRetry: boolean) => void;
  fullUpdate: (bizType: string, restart: boolean) => void;
  messageDropped: (message: SyncMessage, reason: string) => void;
  message: (message: SyncMessage) => void;
  ack: (syncPoints: wire.WirePoint[]) => void;
  error: (error: { code: string; message: string; retry: boolean }) => void;
  leader: (isLeader: boolean) => void;
};

/** One scope as this tab dispatches it. */
interface Lane {
  key: string;
  epoch: number;
  /** the highest id this tab has handed to a callback and finished (acked or dropped) */
  dispatchedUpTo: number;
  queue: StoredMessage[];
  busy: boolean;
  current?: { id: number; settle: (ok: boolean, reason: string) => void };
}

const OPEN = 1;

export function scopeKey(scope: ScopeName, bizType: string, owner: string) {
  return scope + "/" + bizType + "/" + owner;
}

export class MssClient {
  private readonly o: Required<Omit<MssClientOptions, "storage" | "createWebSocket" | "shareConnection" | "name">>;
  private readonly storage: MssStorage;
  private readonly tabs: TabGroup;
  private readonly listeners: Record<string, Set<(...args: never[]) => void>> = {};
  private readonly callbacks = new Map<string, { fn: MessageCallback; options: BizOptions }>();
  private readonly lanes = new Map<string, Lane>();
  private readonly pendingFullUpdates = new Map<string, boolean>();
  private userId: string | null = null;
  private sessionId = "";
  private foreground = false;
  private closed = false;
  private loaded: Promise<void>;
  // leader state
  private readonly scopes = new Map<string, ScopeState>();
  private readonly peerBizTypes = new Map<string, string[]>();
  private ws?: WebSocketLike;
  private welcomed = false;
  private sessionUser: string | null = null;
  private reconnectAttempt = 0;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private heartbeat?: ReturnType<typeof setInterval>;
  private lastReceived = 0;
  private writes: Promise<void> = Promise.resolve();
  private lastError?: { code: string; message: string; retry: boolean };
  private connectedState = false;
  // upstream: this tab's own messages, and, on the leader, those other tabs asked it to send
  private readonly upstreamMine = new Map<string, { bizType: string; payload: string;
    resolve: (r: UpstreamReply) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  private readonly upstreamRelayed = new Map<string, { bizType: string; payload: string }>();

  constructor(options: MssClientOptions) {
    if (!options.url || !options.deviceId || !options.getToken) {
      throw new TypeError("MssClient needs url, deviceId and getToken");
    }
    this.o = {
      url: options.url, deviceId: options.deviceId, getToken: options.getToken,
      autoAck: options.autoAck ?? false, ackTimeoutMs: options.ackTimeoutMs ?? 30_000,
      redeliveryBackoffMs: options.redeliveryBackoffMs ?? [500, 10_000],
      reconnectBackoffMs: options.reconnectBackoffMs ?? [500, 30_000],
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000, upstreamTimeoutMs: options.upstreamTimeoutMs ?? 30_000,
      osType: options.osType ?? "web", appVersion: options.appVersion ?? "",
    };
    this.createWebSocket = options.createWebSocket
      ?? ((url) => new (globalThis as unknown as { WebSocket: new (u: string) => WebSocketLike }).WebSocket(url));
    const name = options.name ?? options.deviceId;
    const browser = typeof document !== "undefined";
    this.storage = options.storage ?? (typeof indexedDB !== "undefined" ? new IndexedDbStorage(name) : new MemoryStorage());
    const remembered = browser ? readUser(name) : null;
    if (remembered) {
      this.userId = remembered.userId;
      this.sessionId = remembered.sessionId;
    }
    this.userKey = "mss:" + name + ":user";
    this.loaded = this.loadInbox();
    this.tabs = new TabGroup(name, () => this.becomeLeader(), (m) => this.onTab(m), options.shareConnection ?? browser);
    this.tabs.post({ t: "hi" });
    if (browser && typeof addEventListener === "function") {
      addEventListener("online", this.wake);
      addEventListener("offline", this.offline);
      document.addEventListener("visibilitychange", this.wake);
    }
  }

  private readonly createWebSocket: (url: string) => WebSocketLike;
  private readonly userKey: string;

  // ---------------------------------------------------------------- public API

  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    const set = (this.listeners[event] ??= new Set());
    set.add(listener as (...args: never[]) => void);
    return () => { set.delete(listener as (...args: never[]) => void); };
  }

  registerBiz(bizType: string, callback: MessageCallback, options: BizOptions = {}) {
    const known = this.callbacks.has(bizType);
    this.callbacks.set(bizType, { fn: callback, options });
    const full = this.pendingFullUpdates.get(bizType);
    if (full !== undefined) {
      this.pendingFullUpdates.delete(bizType);
      this.fullUpdateLocal(bizType, full);
    }
    if (!known) this.bizTypesChanged();
    void this.loaded.then(() => this.pumpAll());
  }

  unregisterBiz(bizType: string) {
    if (this.callbacks.delete(bizType)) this.bizTypesChanged();
  }

  /** Done with a message: it leaves the inbox and the scope's next one is dispatched. */
  reportMsgReceived(message: SyncMessage) {
    const lane = this.lanes.get(scopeKey(message.scope, message.bizType, message.userId ?? ""));
    if (lane?.current && lane.current.id === message.id && lane.epoch === message.epoch) lane.current.settle(true, "");
  }

  updateUserInfo(userId: string, sessionId = "") {
    if (!userId) throw new TypeError("updateUserInfo needs a userId; clearUserInfo() signs out");
    this.setUser(userId, sessionId, true);
  }

  clearUserInfo() {
    this.setUser(null, "", true);
  }

  /** Connect, and keep reconnecting while in the foreground. */
  appToForeground() {
    this.foreground = true;
    this.tabs.post({ t: "fg" });
    if (this.tabs.leader) this.connectSoon(0);
  }

  /** Disconnect; the inbox keeps dispatching. */
  appToBackground() {
    this.foreground = false;
    if (this.tabs.leader) this.disconnect("app in background", false);
  }

  isLeader() {
    return this.tabs.leader;
  }

  isConnected() {
    return this.connectedState;
  }

  /** The sync points this client holds (on the leader; other tabs read them from storage). */
  async syncPoints(): Promise<wire.WirePoint[]> {
    await this.loaded;
    const scopes = this.tabs.leader ? [...this.scopes.values()] : (await this.storage.load()).scopes;
    return scopes.map((s) => ({ bizType: s.bizType, scope: s.scope, id: s.syncId, epoch: s.epoch }));
  }

  sendMessage(bizType: string, payload: string): Promise<UpstreamReply> {
    if (this.closed) return Promise.reject(new Error("the client is closed"));
    if (!bizType || payload.length > MAX_UPSTREAM_PAYLOAD_CHARS) {
      return Promise.reject(new RangeError("sendMessage needs a bizType and a payload of at most "
        + MAX_UPSTREAM_PAYLOAD_CHARS + " characters"));
    }
    const clientMsgId = uuid();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.upstreamMine.delete(clientMsgId);
        reject(Object.assign(new Error("no answer to upstream message " + clientMsgId + " within "
          + this.o.upstreamTimeoutMs + " ms"), { clientMsgId }));
      }, this.o.upstreamTimeoutMs);
      this.upstreamMine.set(clientMsgId, { bizType, payload, resolve, reject, timer });
      this.sendUpstream(clientMsgId, bizType, payload);
    });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.disconnect("client closed", false);
    for (const [, up] of this.upstreamMine) {
      clearTimeout(up.timer);
      up.reject(new Error("the client is closed"));
    }
    this.upstreamMine.clear();
    for (const lane of this.lanes.values()) lane.current?.settle(false, "closed");
    this.tabs.close();
    if (typeof removeEventListener === "function" && typeof document !== "undefined") {
      removeEventListener("online", this.wake);
      removeEventListener("offline", this.offline);
      document.removeEventListener("visibilitychange", this.wake);
    }
    this.storage.close?.();
  }

  // ---------------------------------------------------------------- dispatch (every tab)

  private async loadInbox() {
    const { scopes, messages } = await this.storage.load();
    for (const s of scopes) this.scopes.set(s.scopeKey, s);
    const marks = this.storage.marks();
    for (const m of messages) {
      const mark = marks[m.scopeKey];
      const scope = this.scopes.get(m.scopeKey);
      if (scope && scope.epoch !== m.epoch) continue; // left from a timeline that was restarted
      if (mark && mark.epoch === m.epoch && m.id <= mark.doneUpTo) continue;
      this.enqueue(m, false);
    }
  }

  private lane(m: { scopeKey: string; epoch: number }): Lane {
    let lane = this.lanes.get(m.scopeKey);
    if (!lane) {
      lane = { key: m.scopeKey, epoch: m.epoch, dispatchedUpTo: 0, queue: [], busy: false };
      this.lanes.set(m.scopeKey, lane);
    }
    return lane;
  }

  private enqueue(m: StoredMessage, pump = true) {
    const lane = this.lane(m);
    if (lane.epoch !== m.epoch) {
      if (lane.epoch !== 0 && m.epoch !== 0 && lane.busy) return; // a restart notice is on its way
      this.restartLane(m.scopeKey, m.epoch);
    }
    if (m.id <= lane.dispatchedUpTo || lane.queue.some((q) => q.id === m.id)) return;
    lane.queue.push(m);
    lane.queue.sort((a, b) => a.id - b.id);
    if (pump) this.pump(lane);
  }

  private restartLane(key: string, epoch: number) {
    const lane = this.lanes.get(key);
    if (!lane) {
      this.lanes.set(key, { key, epoch, dispatchedUpTo: 0, queue: [], busy: false });
      return;
    }
    lane.current?.settle(false, "restarted");
    lane.epoch = epoch;
    lane.dispatchedUpTo = 0;
    lane.queue = [];
  }

  private pumpAll() {
    for (const lane of this.lanes.values()) this.pump(lane);
  }

  /** Hands a lane's next message to its callback when the lane is idle, registered and its user's. */
  private pump(lane: Lane) {
    if (lane.busy || this.closed || lane.queue.length === 0) return;
    const m = lane.queue[0];
    const entry = this.callbacks.get(m.bizType);
    if (!entry) return; // stays in the inbox until a callback is registered
    if (m.scope === "USER" && m.owner !== this.userId) return; // another user's: waits for them
    lane.busy = true;
    void this.attempt(lane, m, entry, 0);
  }

  private async attempt(lane: Lane, m: StoredMessage, entry: { fn: MessageCallback; options: BizOptions },
                        failures: number) {
    const marks = this.storage.marks();
    const mark: ScopeMark = marks[lane.key]?.epoch === m.epoch ? marks[lane.key]
      : { epoch: m.epoch, doneUpTo: 0, attemptId: 0, attempts: 0 };
    const counted = m.id > mark.doneUpTo; // a message another tab finished is shown here, not counted again
    const message = toSyncMessage(m);
    if (counted) {
      const attempts = mark.attemptId === m.id ? mark.attempts : 0;
      if (attempts >= MAX_DELIVERY_ATTEMPTS) {
        this.finish(lane, m, mark, false, entry, "delivery failed " + attempts + " times");
        return;
      }
      // counted before the call: a callback that crashes the page is not retried forever
      this.storage.mark(lane.key, { ...mark, attemptId: m.id, attempts: attempts + 1 });
    }
    const outcome = await new Promise<{ ok: boolean; reason: string }>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => settle(false, "no ack within " + this.o.ackTimeoutMs + " ms"),
        this.o.ackTimeoutMs);
      const settle = (ok: boolean, reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        lane.current = undefined;
        resolve({ ok, reason });
      };
      lane.current = { id: m.id, settle };
      try {
        this.emit("message", message);
        const result = entry.fn(message);
        if (result && typeof (result as PromiseLike<unknown>).then === "function") {
          (result as PromiseLike<unknown>).then(() => settle(true, ""),
            (e: unknown) => settle(false, "callback rejected: " + String(e)));
        } else if (this.o.autoAck) {
          settle(true, "");
        }
      } catch (e) {
        settle(false, "callback threw: " + String(e));
      }
    });
    if (lane.epoch !== m.epoch || this.closed || outcome.reason === "restarted") {
      lane.busy = false;
      if (!this.closed) this.pump(lane);
      return;
    }
    const now = this.storage.marks()[lane.key];
    const current = now?.epoch === m.epoch ? now : mark;
    if (outcome.ok) {
      this.finish(lane, m, current, true, entry, "");
      return;
    }
    if (failures + 1 >= MAX_DELIVERY_ATTEMPTS || (counted && (current.attemptId === m.id
      ? current.attempts : 0) >= MAX_DELIVERY_ATTEMPTS)) {
      this.finish(lane, m, current, false, entry, outcome.reason);
      return;
    }
    const [min, max] = this.o.redeliveryBackoffMs;
    setTimeout(() => {
      if (lane.epoch !== m.epoch || this.closed) {
        lane.busy = false;
        return;
      }
      if (m.scope === "USER" && m.owner !== this.userId) { // signed out meanwhile: waits for its user
        lane.busy = false;
        return;
      }
      void this.attempt(lane, m, entry, failures + 1);
    }, Math.min(max, min * 2 ** failures));
  }

  /** Acked or dropped: recorded at once (synchronously where possible), then the next one. */
  private finish(lane: Lane, m: StoredMessage, mark: ScopeMark, acked: boolean,
                 entry: { options: BizOptions }, reason: string) {
    const doneUpTo = Math.max(mark.doneUpTo, m.id);
    this.storage.mark(lane.key, { epoch: m.epoch, doneUpTo, attemptId: 0, attempts: 0 });
    lane.dispatchedUpTo = m.id;
    lane.queue = lane.queue.filter((q) => q.id > m.id);
    lane.busy = false;
    this.tabs.post({ t: "done", key: lane.key, epoch: m.epoch, id: doneUpTo });
    if (this.tabs.leader) this.storage.forget(lane.key, m.epoch, doneUpTo);
    if (!acked) {
      const message = toSyncMessage(m);
      console.warn("mss: dropped " + m.scopeKey + " #" + m.id + ": " + reason);
      safely(() => entry.options.onMessageDropped?.(message, reason));
      this.emit("messageDropped", message, reason);
    }
    this.pump(lane);
  }

  private fullUpdateLocal(bizType: string, restart: boolean) {
    const entry = this.callbacks.get(bizType);
    if (!entry) {
      this.pendingFullUpdates.set(bizType, restart || (this.pendingFullUpdates.get(bizType) ?? false));
      return;
    }
    safely(() => entry.options.onFullUpdate?.(bizType, restart));
    this.emit("fullUpdate", bizType, restart);
  }

  private dispatchEphemeral(m: StoredMessage) {
    const entry = this.callbacks.get(m.bizType);
    if (!entry || (m.scope === "USER" && m.owner !== this.userId)) return;
    const message = { ...toSyncMessage(m), ephemeral: true };
    this.emit("message", message);
    safely(() => entry.fn(message));
  }

  // ---------------------------------------------------------------- tabs

  private onTab(m: TabMessage) {
    switch (m.t) {
      case "hi":
        this.tabs.post({ t: "biz", list: [...this.callbacks.keys()] });
        if (this.tabs.leader) {
          this.tabs.post({ t: "conn", up: this.connectedState, session: "", user: this.sessionUser });
          if (this.foreground) this.tabs.post({ t: "fg" });
        }
        break;
      case "lead":
        // a new leader: it needs our bizTypes, and our unanswered upstream messages
        this.tabs.post({ t: "biz", list: [...this.callbacks.keys()] });
        if (this.foreground) this.tabs.post({ t: "fg" });
        for (const [id, up] of this.upstreamMine) this.tabs.post({ t: "up", id, biz: up.bizType, payload: up.payload });
        break;
      case "biz":
        this.peerBizTypes.set(m.from as string, m.list as string[]);
        if (this.tabs.leader) this.bizTypesChanged();
        break;
      case "bye":
        if (this.peerBizTypes.delete(m.from as string) && this.tabs.leader) this.bizTypesChanged();
        break;
      case "fg":
        if (this.tabs.leader && !this.foreground) {
          this.foreground = true;
          this.connectSoon(0);
        }
        break;
      case "msgs":
        for (const msg of m.list as StoredMessage[]) this.enqueue(msg);
        break;
      case "eph":
        for (const msg of m.list as StoredMessage[]) this.dispatchEphemeral(msg);
        break;
      case "restart":
        this.restartLane(m.key as string, m.epoch as number);
        this.fullUpdateLocal(m.biz as string, true);
        break;
      case "full":
        this.fullUpdateLocal(m.biz as string, false);
        break;
      case "done":
        if (this.tabs.leader) this.storage.forget(m.key as string, m.epoch as number, m.id as number);
        break;
      case "user":
        this.setUser(m.userId as string | null, m.sessionId as string, false);
        break;
      case "conn":
        this.setConnected(m.up as boolean, m.session as string, m.user as string | null, m.reason as string);
        break;
      case "up":
        if (this.tabs.leader) {
          this.upstreamRelayed.set(m.id as string, { bizType: m.biz as string, payload: m.payload as string });
          this.sendUpstream(m.id as string, m.biz as string, m.payload as string);
        }
        break;
      case "upr":
        this.upstreamAnswered(m.result as UpstreamReply);
        break;
    }
  }

  private becomeLeader() {
    this.emit("leader", true);
    // the inbox as the previous leader left it: sync points, and messages this tab has not seen
    this.loaded = this.loaded.then(() => this.loadInbox()).then(() => this.pumpAll());
    void this.loaded.then(() => {
      if (this.foreground) this.connectSoon(0);
    });
  }

  private bizTypesChanged() {
    this.tabs.post({ t: "biz", list: [...this.callbacks.keys()] });
    // a socket still opening sends its Hello with the bizTypes of that moment: nothing to redo
    if (this.tabs.leader && this.ws && this.helloBizTypes !== null) {
      const wanted = this.allBizTypes().join(",");
      if (wanted !== this.helloBizTypes) this.reconnectNow("bizTypes changed");
    }
  }

  /** The bizTypes the current socket's Hello named; null until it is sent. */
  private helloBizTypes: string | null = null;

  private allBizTypes(): string[] {
    const all = new Set(this.callbacks.keys());
    for (const list of this.peerBizTypes.values()) list.forEach((b) => all.add(b));
    return [...all].sort();
  }

  private setUser(userId: string | null, sessionId: string, local: boolean) {
    if (this.userId === userId && this.sessionId === sessionId) return;
    this.userId = userId;
    this.sessionId = sessionId;
    if (local) {
      this.tabs.post({ t: "user", userId, sessionId });
      if (typeof localStorage !== "undefined" && typeof document !== "undefined") {
        if (userId) localStorage.setItem(this.userKey, JSON.stringify({ userId, sessionId }));
        else localStorage.removeItem(this.userKey);
      }
    }
    if (this.tabs.leader && this.ws) this.reconnectNow("user changed");
    this.pumpAll();
  }

  // ---------------------------------------------------------------- connection (leader)

  private readonly wake = () => {
    if (typeof document !== "undefined" && document.visibilityState === "hidden") return;
    if (this.tabs.leader && this.foreground && !this.ws && this.online()) {
      this.reconnectAttempt = 0;
      this.connectSoon(0);
    }
  };

  private readonly offline = () => {
    if (this.tabs.leader) this.disconnect("offline", true);
  };

  private online() {
    return typeof navigator === "undefined" || (navigator as { onLine?: boolean }).onLine !== false;
  }

  private connectSoon(delay: number) {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private reconnectNow(reason: string) {
    this.disconnect(reason, true);
    this.reconnectAttempt = 0;
    this.connectSoon(0);
  }

  private async connect() {
    if (this.closed || !this.foreground || !this.tabs.leader || this.ws || !this.online()) return;
    await this.loaded;
    const userId = this.userId;
    let token: string;
    try {
      // a backend that never answers must not stall reconnecting forever
      token = await withTimeout(Promise.resolve(this.o.getToken(this.o.deviceId, userId)), this.o.connectTimeoutMs,
        "getToken did not answer within " + this.o.connectTimeoutMs + " ms");
    } catch (e) {
      this.scheduleReconnect("getToken failed: " + String(e));
      return;
    }
    if (this.closed || !this.foreground || this.ws || !this.tabs.leader) return;
    let ws: WebSocketLike;
    try {
      ws = this.createWebSocket(this.o.url);
    } catch (e) {
      this.scheduleReconnect("cannot open " + this.o.url + ": " + String(e));
      return;
    }
    this.ws = ws;
    this.helloBizTypes = null;
    this.welcomed = false;
    this.lastError = undefined;
    ws.binaryType = "arraybuffer";
    const deadline = setTimeout(() => ws === this.ws && this.drop(ws, "no Welcome within "
      + this.o.connectTimeoutMs + " ms"), this.o.connectTimeoutMs);
    ws.onopen = () => {
      const bizTypes = this.allBizTypes();
      this.helloBizTypes = bizTypes.join(",");
      const bizSet = new Set(bizTypes);
      const points = [...this.scopes.values()]
        .filter((s) => bizSet.has(s.bizType) && (s.scope !== "USER" || s.owner === userId))
        .map((s) => ({ bizType: s.bizType, scope: s.scope, id: s.syncId, epoch: s.epoch }));
      ws.send(wire.hello({ token, deviceId: this.o.deviceId, osType: this.o.osType, appVersion: this.o.appVersion,
        bizTypes, syncPoints: points, userId: userId ?? "", sessionId: this.sessionId }));
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.lastReceived = Date.now();
      let frame: wire.ServerFrame;
      try {
        frame = wire.decode(toBytes(ev.data));
      } catch (e) {
        this.drop(ws, "undecodable frame from the server: " + String(e));
        return;
      }
      if (frame.kind.case === "welcome") clearTimeout(deadline);
      this.onFrame(ws, frame);
    };
    ws.onerror = () => { /* onclose follows with the reason */ };
    ws.onclose = (ev) => {
      clearTimeout(deadline);
      if (ws !== this.ws) return;
      const reason = this.lastError ? this.lastError.code + ": " + this.lastError.message
        : "closed (" + ev.code + (ev.reason ? " " + ev.reason : "") + ")";
      this.afterClose(reason);
    };
  }

  private onFrame(ws: WebSocketLike, frame: wire.ServerFrame) {
    const k = frame.kind;
    switch (k.case) {
      case "welcome": {
        this.welcomed = true;
        this.reconnectAttempt = 0;
        this.sessionUser = k.value.userId || null;
        const interval = k.value.heartbeatIntervalMs || 30_000;
        clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => {
          if (Date.now() - this.lastReceived > interval * 2.5) this.drop(ws, "nothing received for " + interval * 2.5 + " ms");
          else if (ws.readyState === OPEN) ws.send(wire.ping(Date.now()));
        }, interval);
        this.setConnected(true, k.value.sessionId, this.sessionUser, "");
        this.tabs.post({ t: "conn", up: true, session: k.value.sessionId, user: this.sessionUser });
        for (const [id, up] of this.upstreamMine) this.sendUpstream(id, up.bizType, up.payload);
        for (const [id, up] of this.upstreamRelayed) this.sendUpstream(id, up.bizType, up.payload);
        break;
      }
      case "syncData":
        this.chain(() => this.store(ws, k.value));
        break;
      case "command":
        if (k.value.type === 1) this.chain(() => this.fullUpdate(k.value));
        break;
      case "upstreamResult": {
        const r = k.value;
        const reply = { clientMsgId: r.clientMsgId, success: r.success, code: r.code, payload: r.payload,
          message: r.message };
        this.upstreamRelayed.delete(r.clientMsgId);
        this.tabs.post({ t: "upr", result: reply });
        this.upstreamAnswered(reply);
        break;
      }
      case "error": {
        const code = wire.errorCodeName(k.value.code);
        this.lastError = { code, message: k.value.message, retry: k.value.retry };
        this.emit("error", this.lastError);
        break;
      }
      default:
        break; // pong: lastReceived is all it is for
    }
  }

  private chain(step: () => Promise<void>) {
    this.writes = this.writes.then(step).catch((e) => {
      // the inbox could not be written: nothing was acked, the server sends it again
      console.warn("mss: storing failed, reconnecting: " + String(e));
      if (this.ws) this.drop(this.ws, "storage failed: " + String(e));
    });
  }

  private owner(scope: ScopeName) {
    return scope === "USER" ? this.sessionUser ?? "" : "";
  }

  /** Durable first, then the ack, then the tabs: the server's ack means "stored on this device". */
  private async store(ws: WebSocketLike, data: SyncData) {
    const restart: string[] = [];
    const messages: StoredMessage[] = [];
    const ephemeral: StoredMessage[] = [];
    const touched = new Map<string, ScopeState>();
    const restarted: { key: string; epoch: number; biz: string }[] = [];
    for (const batch of data.batches) {
      const scope = wire.scopeName(batch.scope);
      const owner = this.owner(scope);
      const key = scopeKey(scope, batch.bizType, owner);
      const epoch = Number(batch.epoch);
      if (batch.ephemeral) {
        for (const o of batch.oplogs) ephemeral.push({ scopeKey: key, bizType: batch.bizType, scope, owner,
          id: Number(o.id), epoch: 0, payload: o.payload, createdAt: Number(o.createdAt) });
        continue;
      }
      let state = touched.get(key) ?? this.scopes.get(key);
      if (state && state.epoch !== 0 && epoch !== 0 && state.epoch !== epoch) {
        // another timeline without a FULL_UPDATE first: treated as a restart (docs/protocol.md)
        restart.push(key);
        restarted.push({ key, epoch, biz: batch.bizType });
        state = undefined;
      }
      const next: ScopeState = state ? { ...state } : { scopeKey: key, bizType: batch.bizType, scope, owner,
        syncId: 0, epoch };
      if (next.epoch === 0) next.epoch = epoch;
      for (const o of batch.oplogs) {
        const id = Number(o.id);
        if (id <= next.syncId) continue; // a resend of what is stored
        messages.push({ scopeKey: key, bizType: batch.bizType, scope, owner, id, epoch: next.epoch,
          payload: o.payload, createdAt: Number(o.createdAt) });
        next.syncId = id;
      }
      touched.set(key, next);
    }
    if (touched.size > 0 || restart.length > 0) {
      await this.storage.write({ restart, messages, scopes: [...touched.values()] });
      for (const s of touched.values()) this.scopes.set(s.scopeKey, s);
    }
    const points = [...touched.values()].map((s) => ({ bizType: s.bizType, scope: s.scope, id: s.syncId, epoch: s.epoch }));
    if (points.length > 0 && ws === this.ws && ws.readyState === OPEN) {
      ws.send(wire.ack(points));
      this.emit("ack", points);
    }
    for (const r of restarted) {
      this.tabs.post({ t: "restart", key: r.key, epoch: r.epoch, biz: r.biz });
      this.restartLane(r.key, r.epoch);
      this.fullUpdateLocal(r.biz, true);
    }
    if (messages.length > 0) {
      this.tabs.post({ t: "msgs", list: messages });
      for (const m of messages) this.enqueue(m);
    }
    if (ephemeral.length > 0) {
      this.tabs.post({ t: "eph", list: ephemeral });
      for (const m of ephemeral) this.dispatchEphemeral(m);
    }
  }

  private async fullUpdate(command: Command) {
    const scope = wire.scopeName(command.scope);
    const key = scopeKey(scope, command.bizType, this.owner(scope));
    if (!command.restart) {
      this.tabs.post({ t: "full", biz: command.bizType });
      this.fullUpdateLocal(command.bizType, false);
      return;
    }
    // the position is not on the current timeline: start the scope over at (epoch, 0)
    const epoch = Number(command.epoch);
    const state: ScopeState = { scopeKey: key, bizType: command.bizType, scope, owner: this.owner(scope), syncId: 0, epoch };
    await this.storage.write({ restart: [key], scopes: [state] });
    this.scopes.set(key, state);
    this.tabs.post({ t: "restart", key, epoch, biz: command.bizType });
    this.restartLane(key, epoch);
    this.fullUpdateLocal(command.bizType, true);
  }

  private drop(ws: WebSocketLike, reason: string) {
    if (ws !== this.ws) return;
    try {
      ws.close(1000);
    } catch {
      // closing a socket that never opened
    }
    this.afterClose(reason);
  }

  private disconnect(reason: string, willRetry: boolean) {
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (!ws) return;
    this.ws = undefined;
    clearInterval(this.heartbeat);
    try {
      ws.close(1000);
    } catch {
      // never opened
    }
    this.setConnected(false, "", null, reason, willRetry);
    this.tabs.post({ t: "conn", up: false, reason });
  }

  private afterClose(reason: string) {
    this.ws = undefined;
    clearInterval(this.heartbeat);
    const retry = this.lastError?.retry ?? true;
    this.setConnected(false, "", null, reason, this.foreground && !this.closed);
    this.tabs.post({ t: "conn", up: false, reason });
    this.scheduleReconnect(reason, !retry);
  }

  private scheduleReconnect(reason: string, slow = false) {
    if (this.closed || !this.foreground || !this.tabs.leader) return;
    void reason;
    const [min, max] = this.o.reconnectBackoffMs;
    const expired = this.lastError?.code === "TOKEN_EXPIRED";
    // a refusal that will not change by itself (retry = false) waits the longest
    const ceiling = slow ? max : Math.min(max, min * 2 ** this.reconnectAttempt++);
    const delay = expired ? 0 : ceiling / 2 + Math.random() * ceiling / 2;
    this.connectSoon(delay);
  }

  private setConnected(up: boolean, sessionId: string, userId: string | null, reason: string, willRetry = true) {
    if (up === this.connectedState && up) return;
    const was = this.connectedState;
    this.connectedState = up;
    if (up) this.emit("connected", sessionId, userId);
    else if (was || reason) this.emit("disconnected", reason || "disconnected", willRetry);
  }

  // ---------------------------------------------------------------- upstream

  private sendUpstream(clientMsgId: string, bizType: string, payload: string) {
    if (!this.tabs.leader) {
      this.tabs.post({ t: "up", id: clientMsgId, biz: bizType, payload });
      return;
    }
    if (this.ws && this.welcomed && this.ws.readyState === OPEN) this.ws.send(wire.upstream(clientMsgId, bizType, payload));
    // otherwise it goes out after the next Welcome
  }

  private upstreamAnswered(reply: UpstreamReply) {
    const mine = this.upstreamMine.get(reply.clientMsgId);
    if (!mine) return;
    this.upstreamMine.delete(reply.clientMsgId);
    clearTimeout(mine.timer);
    mine.resolve(reply);
  }

  private emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>) {
    for (const listener of this.listeners[event] ?? []) safely(() => (listener as (...a: unknown[]) => void)(...args));
  }
}

function toSyncMessage(m: StoredMessage): SyncMessage {
  return { bizType: m.bizType, scope: m.scope, id: m.id, epoch: m.epoch, payload: m.payload, createdAt: m.createdAt,
    userId: m.scope === "USER" ? m.owner : null, ephemeral: false };
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) { // ws may hand fragments
    const parts = data as Uint8Array[];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.byteLength; }
    return out;
  }
  throw new TypeError("text message on the MSS WebSocket");
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([promise, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); })])
    .finally(() => clearTimeout(timer));
}

function safely(fn: () => void) {
  try {
    fn();
  } catch (e) {
    console.error("mss: a listener threw", e);
  }
}

function readUser(name: string): { userId: string; sessionId: string } | null {
  try {
    const text = globalThis.localStorage?.getItem("mss:" + name + ":user");
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function uuid(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);
}
