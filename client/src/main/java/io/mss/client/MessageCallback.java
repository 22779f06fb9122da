package io.mss.client;

/**
 * Receives the oplogs of one bizType, see {@link MssClient#registerBiz}.
 *
 * <p>Runs on the callback executor. For one scope, calls never overlap and ids always ascend.
 * An exception thrown here is logged and leaves the message unacked; it does not stop delivery.
 */
@FunctionalInterface
public interface MessageCallback {
    /**
     * One new oplog. Store it, then call {@link MssClient#reportMsgReceived} (unless the client
     * was built with {@code autoAck(true)}, which acks when this method returns normally).
     */
    void onMessage(SyncMessage message);

    /**
     * The server cannot deliver everything this device missed for {@code bizType} (it was
     * trimmed or expired): reload that bizType from the business backend.
     */
    default void onFullUpdate(String bizType) {
    }
}
