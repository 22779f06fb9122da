package io.mss.server.store;

/**
 * The server's record of what each device has acknowledged, per scope. Acks are cumulative,
 * so a sync point only moves forward. Writes need not be fsync'd: losing one means an oplog
 * is delivered again, and the client drops what it already has.
 */
public interface SyncPointStore {

    /** The device's sync point in the scope, 0 when it never acknowledged anything there. */
    long get(String deviceId, Scope scope);

    /** Raises the device's sync point to {@code id}; a lower id is ignored. */
    void advance(String deviceId, Scope scope, long id);
}
