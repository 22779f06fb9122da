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
     * Failed attempts while already disconnected are not reported one by one.
     *
     * @param reason human-readable; for a server Error it contains the error code and message
     * @param willRetry whether the client keeps reconnecting on its own
     */
    default void onDisconnected(String reason, boolean willRetry) {
    }
}
