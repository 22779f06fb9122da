package io.mss.server.store;

import java.util.List;

/**
 * The server's record of what each device has acknowledged, per scope. Acks are cumulative,
 * so a sync point only moves forward. Writes need not be fsync'd: losing one means an oplog
 * is delivered again, and the client drops what it already has.
 *
 * <p>Single-device USER bizTypes keep one sync point for the user: their callers pass
 * {@link #USER_OWNED} as the deviceId.
 */
public interface SyncPointStore {

    /** The deviceId under which a single-device scope keeps the user's one sync point. */
    String USER_OWNED = "";

    /** One device's position in a scope. */
    record DeviceSyncPoint(String deviceId, long syncPoint, long ackedAt) {
    }

    /** The device's sync point in the scope, 0 when it never acknowledged anything there. */
    long get(String deviceId, Scope scope);

    /** Raises the device's sync point to {@code id} and stamps the time; a lower id is ignored. */
    void advance(String deviceId, Scope scope, long id);

    /** Every device that ever acknowledged something in the scope (reads one key range). */
    List<DeviceSyncPoint> list(Scope scope);
}
