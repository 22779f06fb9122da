/**
 * Where a client keeps its inbox and sync points. One storage per device id and origin; every
 * tab of a browser profile opens the same one. Only the tab holding the connection (the leader)
 * calls {@link MssStorage.write}; any tab may call {@link MssStorage.mark}.
 */

export type ScopeName = "USER" | "DEVICE" | "GLOBAL";

/** One oplog in the inbox: stored before the server is acked, removed once done. */
export interface StoredMessage {
  scopeKey: string;
  bizType: string;
  scope: ScopeName;
  /** the userId for USER scopes, "" otherwise */
  owner: string;
  id: number;
  epoch: number;
  payload: string;
  createdAt: number;
}

/** A scope's position: the highest id stored (the sync point) on the timeline `epoch`. */
export interface ScopeState {
  scopeKey: string;
  bizType: string;
  scope: ScopeName;
  owner: string;
  syncId: number;
  epoch: number;
}

/**
 * How far the app got in a scope: every id up to `doneUpTo` was acked or dropped; the message
 * `attemptId` has been handed to a callback `attempts` times. Written before each callback call
 * and at each ack, synchronously where the platform allows it, so a page reload right after a
 * callback neither repeats nor loses it.
 */
export interface ScopeMark {
  epoch: number;
  doneUpTo: number;
  attemptId: number;
  attempts: number;
}

export interface InboxChange {
  /** scopes restarted on a new timeline: their messages are dropped first */
  restart?: string[];
  messages?: StoredMessage[];
  scopes?: ScopeState[];
}

export interface MssStorage {
  load(): Promise<{ scopes: ScopeState[]; messages: StoredMessage[] }>;
  /** Applies the change atomically; resolves once it is durable (the ack waits for it). */
  write(change: InboxChange): Promise<void>;
  /** The marks of every scope, as last written by any tab. */
  marks(): Record<string, ScopeMark>;
  mark(scopeKey: string, mark: ScopeMark): void;
  /** Removes messages at or below `upTo` of one scope's epoch: housekeeping, may be lazy. */
  forget(scopeKey: string, epoch: number, upTo: number): void;
  close?(): void;
}

/** Keeps everything in memory: for tests and for apps that accept losing the inbox with the process. */
export class MemoryStorage implements MssStorage {
  protected scopes = new Map<string, ScopeState>();
  protected messages = new Map<string, StoredMessage>();
  protected markTable: Record<string, ScopeMark> = {};

  async load() {
    return { scopes: [...this.scopes.values()], messages: sorted([...this.messages.values()]) };
  }

  async write(change: InboxChange): Promise<void> {
    this.applyChange(change);
  }

  protected applyChange(change: InboxChange) {
    for (const key of change.restart ?? []) {
      for (const [k, m] of this.messages) if (m.scopeKey === key) this.messages.delete(k);
      delete this.markTable[key];
    }
    for (const m of change.messages ?? []) this.messages.set(m.scopeKey + "\u0000" + m.id, m);
    for (const s of change.scopes ?? []) this.scopes.set(s.scopeKey, s);
  }

  marks() {
    return { ...this.markTable };
  }

  mark(scopeKey: string, mark: ScopeMark) {
    this.markTable[scopeKey] = mark;
  }

  forget(scopeKey: string, epoch: number, upTo: number) {
    for (const [k, m] of this.messages) {
      if (m.scopeKey === scopeKey && (m.epoch !== epoch || m.id <= upTo)) this.messages.delete(k);
    }
  }
}

export function sorted(messages: StoredMessage[]): StoredMessage[] {
  return messages.sort((a, b) => (a.scopeKey < b.scopeKey ? -1 : a.scopeKey > b.scopeKey ? 1 : a.id - b.id));
}

/**
 * The browser's storage: IndexedDB for the inbox and sync points (one transaction per SyncData,
 * committed with durability "strict" before the ack), localStorage for the marks (synchronous,
 * so an ack recorded right before a reload is never lost). Shared by all tabs of the origin.
 */
export class IndexedDbStorage implements MssStorage {
  private db?: Promise<IDBDatabase>;
  private readonly prefix: string;

  constructor(private readonly name: string, private readonly idb: IDBFactory = indexedDB,
              private readonly local: Storage | undefined = globalThis.localStorage) {
    this.prefix = "mss:" + name + ":mark:";
  }

  private open(): Promise<IDBDatabase> {
    return (this.db ??= new Promise((resolve, reject) => {
      const request = this.idb.open("mss-" + this.name, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore("messages", { keyPath: ["scopeKey", "id"] });
        request.result.createObjectStore("scopes", { keyPath: "scopeKey" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    }));
  }

  async load() {
    const db = await this.open();
    const tx = db.transaction(["scopes", "messages"], "readonly");
    const [scopes, messages] = await Promise.all([
      req<ScopeState[]>(tx.objectStore("scopes").getAll()),
      req<StoredMessage[]>(tx.objectStore("messages").getAll()),
    ]);
    return { scopes, messages: sorted(messages) };
  }

  async write(change: InboxChange): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(["scopes", "messages"], "readwrite", { durability: "strict" });
    const messages = tx.objectStore("messages");
    for (const key of change.restart ?? []) {
      messages.delete(IDBKeyRange.bound([key, -Infinity], [key, Infinity]));
      this.local?.removeItem(this.prefix + key);
    }
    for (const m of change.messages ?? []) messages.put(m);
    for (const s of change.scopes ?? []) tx.objectStore("scopes").put(s);
    await done(tx);
  }

  marks(): Record<string, ScopeMark> {
    const out: Record<string, ScopeMark> = {};
    if (!this.local) return out;
    for (let i = 0; i < this.local.length; i++) {
      const key = this.local.key(i);
      if (key?.startsWith(this.prefix)) {
        try {
          out[key.slice(this.prefix.length)] = JSON.parse(this.local.getItem(key)!);
        } catch {
          // a damaged mark is no mark: the scope's messages are dispatched again
        }
      }
    }
    return out;
  }

  mark(scopeKey: string, mark: ScopeMark) {
    this.local?.setItem(this.prefix + scopeKey, JSON.stringify(mark));
  }

  forget(scopeKey: string, epoch: number, upTo: number) {
    void this.open().then((db) => {
      const store = db.transaction("messages", "readwrite").objectStore("messages");
      store.delete(IDBKeyRange.bound([scopeKey, -Infinity], [scopeKey, upTo]));
      void epoch; // one epoch per scope is kept: a restart removed the old one's messages
    });
  }

  close() {
    void this.db?.then((db) => db.close());
  }
}

function req<T>(request: IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result as T);
    request.onerror = () => reject(request.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}
