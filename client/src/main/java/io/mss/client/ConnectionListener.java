package io.mss.client;

/**
 * Connection state changes, delivered on the callback executor in order with the messages.
 */
public interface ConnectionListener {
    /** The server accepted the Hello; {@link MssClient#isConnected()} is now true. */
    default void onConnected(String sessionId) {
    }

    /**
     * A connection that had reached {@link #onConnected} ended, or the server refused the client
     * for good (an Error frame with {@code retry = false}, then {@code willRetry} is false).
     * Failed attempts while already disconnected go to {@link #onConnectFailed} instead.
     *
     * @param reason human-readable; for a server Error it contains the error code and message
     * @param willRetry whether the client keeps reconnecting on its own
     */
    default void onDisconnected(String reason, boolean willRetry) {
    }

    /**
     * A connect attempt failed before the server's {@code Welcome}: refused, timed out, TLS trust
     * or handshake, the token provider, or a server {@code Error}. Called for every failed
     * attempt, with when the next one comes; {@link ConnectFailure#message()} says it in one line.
     * A server Error with {@code retry = false} is also reported to {@link #onDisconnected}, as
     * before. Default: nothing (the client logs the first failure of a streak at WARNING).
     */
    default void onConnectFailed(ConnectFailure failure) {
    }
}
