package io.mss.mpaas;

/** mPaaS's callback interface: one call per message of a registered bizType. */
public interface ISyncCallback {
    /**
     * Runs on the SDK's callback executor. Handle the message, then call
     * {@link MPSync#reportMsgReceived}; until then it is delivered again (at most six times).
     */
    void onReceiveMessage(SyncMessage message);
}
