package io.mss.server.sync;

import io.mss.server.store.Scope;

/**
 * Told when a device's acknowledged sync point in a scope moves forward. Called on the
 * session's event loop: an implementation that does I/O hands it to its own executor.
 */
@FunctionalInterface
public interface AckListener {
    /**
     * @param userId    the signed-in user of the session, or null
     * @param syncPoint every oplog of the scope up to this id is now stored by the device
     */
    void acked(String deviceId, String userId, Scope scope, long syncPoint, long ackedAt);
}
