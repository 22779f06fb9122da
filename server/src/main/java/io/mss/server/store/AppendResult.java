package io.mss.server.store;

/**
 * What an append did.
 *
 * @param oplog     the stored oplog; for a duplicate, the one stored first
 * @param duplicate true when the idempotency key was already stored and nothing new was written
 */
public record AppendResult(Oplog oplog, boolean duplicate) {
}
