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

    /** One device's position in a scope, on the timeline {@code epoch} (0: stored before epochs existed). */
    record DeviceSyncPoint(String deviceId, long syncPoint, long ackedAt, long epoch) {
    }

    /**
     * A sync point: an id on the timeline {@code epoch} of a scope (see {@link ScopeHead}).
     * Epoch 0 means not known (stored before epochs existed): only the id can be checked.
     */
    record Position(long epoch, long id) {
        public static final Position NONE = new Position(0, 0);
    }

    /** The device's sync point in the scope, {@link Position#NONE} when it never acknowledged anything there. */
    Position position(String deviceId, Scope scope);

    /** The id of the device's sync point in the scope, 0 when it never acknowledged anything there. */
    default long get(String deviceId, Scope scope) {
        return position(deviceId, scope).id();
    }

    /**
     * Raises the device's sync point to {@code id} on the timeline {@code epoch} and stamps the
     * time. On the stored epoch (or when either epoch is 0, not known) a lower id is ignored; on
     * another epoch the position is replaced, since the stored one is from another timeline.
     */
    void advance(String deviceId, Scope scope, long epoch, long id);

    /** {@link #advance(String, Scope, long, long)} without an epoch: raises the id only. */
    default void advance(String deviceId, Scope scope, long id) {
        advance(deviceId, scope, 0, id);
    }

    /**
     * Sets the device's sync point to exactly {@code (epoch, id)}, lower or not: the stored one
     * was found on no timeline the store has (restored store, deleted data), and the device
     * starts the scope over.
     */
    void reset(String deviceId, Scope scope, long epoch, long id);

    /** Every device that ever acknowledged something in the scope (reads one key range). */
    List<DeviceSyncPoint> list(Scope scope);
}
