package io.mss.client;

import java.util.concurrent.TimeoutException;

/**
 * Fails the future of {@link MssClient#sendMessage} when no answer arrived within the
 * {@linkplain MssClient.Builder#upstreamTimeoutMillis upstream timeout}. The message may still
 * have reached the business backend: sending again with a new id may act twice.
 */
public class UpstreamTimeoutException extends TimeoutException {
    private static final long serialVersionUID = 1L;

    private final String clientMsgId;

    public UpstreamTimeoutException(String clientMsgId, long timeoutMillis) {
        super("no answer to upstream message " + clientMsgId + " within " + timeoutMillis + " ms");
        this.clientMsgId = clientMsgId;
    }

    public String clientMsgId() {
        return clientMsgId;
    }
}
