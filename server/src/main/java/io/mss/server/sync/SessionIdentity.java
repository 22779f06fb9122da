package io.mss.server.sync;

import io.mss.server.store.Oplog;

/**
 * Who a session is: its id, the verified device and user of its client token, what the client
 * said of itself at Hello (for oplog filters), and the negotiated protocol version.
 *
 * <p>Threading: immutable; read from any thread.
 *
 * @param version the negotiated protocol version: version 1 clients send no epochs
 */
record SessionIdentity(String sessionId, String deviceId, String userId, String osType, String appVersion,
                       int version) {

    /** Whether the oplog's filter, if it has one, matches this client. */
    boolean accepts(Oplog oplog) {
        return oplog.filter().isNone() || oplog.filter().matches(osType, appVersion, userId);
    }
}
