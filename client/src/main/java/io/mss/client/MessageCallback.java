package io.mss.client;

/**
 * Receives the oplogs of one bizType, see {@link MssClient#registerBiz}.
 *
 * <p>Runs on the callback executor, one call at a time per client. Per scope, messages come in
 * ascending id order and the next one only after the previous one was acked or dropped.
 */
@FunctionalInterface
public interface MessageCallback {
    /**
     * One new oplog, read from the client's local inbox. Store it, then call
     * {@link MssClient#reportMsgReceived} (unless the client was built with
     * {@code autoAck(true)}, which acks when this method returns normally); the ack removes it
     * from the inbox. A throw, or no ack within the {@linkplain MssClient.Builder#ackTimeoutMillis
     * ack timeout}, makes the client deliver it again after a short backoff, up to
     * {@link MssClient#MAX_DELIVERY_ATTEMPTS} attempts in total, also counting attempts of
     * earlier processes; then it is dropped and {@link #onMessageDropped} is called.
     */
    void onMessage(SyncMessage message);

    /**
     * The server cannot deliver everything this device missed for {@code bizType}: reload that
     * bizType from the business backend. Called by the default {@link #onFullUpdate(FullUpdate)};
     * override that one to learn whether the scope was restarted.
     */
    default void onFullUpdate(String bizType) {
    }

    /**
     * A {@code FULL_UPDATE} from the server, in order with the messages: every message delivered
     * after this call is on {@code update}'s timeline. For a gap ({@code restart} false: trimmed
     * or expired oplogs) the inbox keeps its messages and they are still delivered. For a
     * {@linkplain FullUpdate#restart() restart} the client has already dropped the scope's
     * undispatched messages of the old timeline (none of them is delivered after this call, nor
     * retried) and set its sync point to the start of the new one, whose messages follow with ids
     * that start over. Default: calls {@link #onFullUpdate(String)}.
     */
    default void onFullUpdate(FullUpdate update) {
        onFullUpdate(update.bizType());
    }

    /**
     * {@code message} was removed from the inbox without being acked: its
     * {@link MssClient#MAX_DELIVERY_ATTEMPTS} delivery attempts all threw, timed out or were cut
     * short by the app's process ending. It will not be delivered again; the next message of its
     * scope follows. Default: nothing (the client logs a warning either way).
     *
     * @param reason human-readable, with the last failure (exception or timeout) when known
     */
    default void onMessageDropped(SyncMessage message, String reason) {
    }
}
