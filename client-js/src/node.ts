/** Node.js only: a file-backed storage. Not part of the browser bundle. */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { MemoryStorage, type InboxChange, type ScopeMark } from "./storage.js";

/**
 * The inbox, sync points and marks in one JSON file, replaced atomically (temporary file,
 * fsync, rename) on every change; a write resolves once it is on disk. Meant for small inboxes
 * (messages leave as the app acks them). One client per file.
 */
export class FileStorage extends MemoryStorage {
  constructor(private readonly file: string) {
    super();
    mkdirSync(dirname(file), { recursive: true });
    let text: string | undefined;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return; // a fresh install
    }
    const state = JSON.parse(text);
    for (const s of state.scopes ?? []) this.scopes.set(s.scopeKey, s);
    for (const m of state.messages ?? []) this.messages.set(m.scopeKey + "\u0000" + m.id, m);
    this.markTable = state.marks ?? {};
  }

  override async write(change: InboxChange): Promise<void> {
    this.applyChange(change);
    this.save();
  }

  override mark(scopeKey: string, mark: ScopeMark) {
    super.mark(scopeKey, mark);
    this.save();
  }

  override forget(scopeKey: string, epoch: number, upTo: number) {
    super.forget(scopeKey, epoch, upTo);
    this.save();
  }

  private save() {
    const tmp = this.file + ".tmp";
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, JSON.stringify({ scopes: [...this.scopes.values()], messages: [...this.messages.values()],
        marks: this.markTable }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}

export * from "./index.js";
