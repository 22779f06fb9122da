/**
 * One connection per browser profile: the tabs of an app elect a leader that holds the
 * connection. With Web Locks the leader holds an exclusive lock for as long as it lives; the
 * browser hands it to the next waiting tab when the leader's tab closes or crashes. Without
 * them (older browsers, Node), the tabs elect over the BroadcastChannel: the leader beats every
 * second, and when three beats are missed the tab with the smallest id among the claimants wins.
 * Everything runs on the page's event loop; the channel delivers in order per sender.
 */

export type TabMessage = { t: string; from?: string; [field: string]: unknown };

interface Locks {
  request(name: string, options: { mode: "exclusive" }, callback: () => Promise<void>): Promise<void>;
}

const BEAT_MS = 1000;
const MISSED_BEATS = 3;
const CLAIM_MS = 300;

export class TabGroup {
  readonly id = Math.random().toString(36).slice(2) + Date.now().toString(36);
  leader = false;
  private channel?: BroadcastChannel;
  private release?: () => void;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private lastBeat = Date.now();
  private claims = new Set<string>();
  private closed = false;

  constructor(name: string, private readonly onLeader: () => void, private readonly onMessage: (m: TabMessage) => void,
              enabled: boolean) {
    if (!enabled || typeof BroadcastChannel === "undefined") {
      queueMicrotask(() => this.become());
      return;
    }
    this.channel = new BroadcastChannel("mss:" + name);
    this.channel.onmessage = (e) => this.received(e.data as TabMessage);
    const locks = (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks;
    if (locks) {
      void locks.request("mss:" + name + ":leader", { mode: "exclusive" }, () => {
        if (this.closed) return Promise.resolve();
        this.become();
        return new Promise<void>((resolve) => (this.release = resolve));
      });
    } else {
      this.every(BEAT_MS, () => this.watch());
    }
  }

  post(m: TabMessage) {
    m.from = this.id;
    this.channel?.postMessage(m);
  }

  private received(m: TabMessage) {
    if (m.t === "beat" || m.t === "lead") this.lastBeat = Date.now();
    if (m.t === "claim") this.claims.add(m.from as string);
    if (m.t === "bye" && m.leader) this.lastBeat = 0; // elect at once
    this.onMessage(m);
  }

  /** The fallback election: no beat for three intervals → claim; the smallest claimant wins. */
  private watch() {
    if (this.leader) {
      this.post({ t: "beat" });
      return;
    }
    if (Date.now() - this.lastBeat < BEAT_MS * MISSED_BEATS) return;
    this.claims = new Set([this.id]);
    this.post({ t: "claim" });
    this.lastBeat = Date.now();
    this.timers.push(setTimeout(() => {
      if (!this.closed && !this.leader && [...this.claims].sort()[0] === this.id) this.become();
    }, CLAIM_MS));
  }

  private become() {
    if (this.closed) return;
    this.leader = true;
    this.post({ t: "lead" });
    this.onLeader();
  }

  private every(ms: number, fn: () => void) {
    const timer = setInterval(fn, ms);
    (timer as { unref?: () => void }).unref?.();
    this.timers.push(timer);
  }

  close() {
    this.closed = true;
    this.post({ t: "bye", leader: this.leader });
    this.timers.forEach((t) => clearTimeout(t));
    this.timers.forEach((t) => clearInterval(t));
    this.release?.();
    this.channel?.close();
    this.leader = false;
  }
}
