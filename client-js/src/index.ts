export { MssClient, MAX_DELIVERY_ATTEMPTS, MAX_UPSTREAM_PAYLOAD_CHARS, scopeKey } from "./client.js";
export type { BizOptions, MessageCallback, MssClientOptions, SyncMessage, UpstreamReply, WebSocketLike } from "./client.js";
export { IndexedDbStorage, MemoryStorage } from "./storage.js";
export type { InboxChange, MssStorage, ScopeMark, ScopeName, ScopeState, StoredMessage } from "./storage.js";
export type { WirePoint } from "./wire.js";
