package io.mss.client;

import java.util.Objects;

/**
 * The answer to one {@link MssClient#sendMessage upstream message}. Immutable.
 *
 * <p>{@link #success()} false is an answer too, not an error: {@link #code()} then says why,
 * either the business backend's own code or one of the server's: {@code NO_WEBHOOK} (the bizType
 * has no upstream webhook), {@code BIZ_TYPE_NOT_FOUND}, {@code WEBHOOK_TIMEOUT},
 * {@code WEBHOOK_ERROR}, {@code INVALID_REQUEST}, {@code SERVER_BUSY}.
 */
public final class UpstreamReply {
    private final String clientMsgId;
    private final boolean success;
    private final String code;
    private final String payload;
    private final String message;

    /** Public so that apps can fake replies in their own tests; null strings become empty. */
    public UpstreamReply(String clientMsgId, boolean success, String code, String payload, String message) {
        this.clientMsgId = Objects.requireNonNull(clientMsgId, "clientMsgId");
        this.success = success;
        this.code = code == null ? "" : code;
        this.payload = payload == null ? "" : payload;
        this.message = message == null ? "" : message;
    }

    /** The id the client generated for the message (a UUID); resends reuse it. */
    public String clientMsgId() {
        return clientMsgId;
    }

    /** Whether the business backend accepted the message. */
    public boolean success() {
        return success;
    }

    /** The business backend's code, or the server's reason when it could not ask it; may be empty. */
    public String code() {
        return code;
    }

    /** The business backend's answer payload; may be empty. */
    public String payload() {
        return payload;
    }

    /** Human-readable detail; may be empty. */
    public String message() {
        return message;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof UpstreamReply)) {
            return false;
        }
        UpstreamReply r = (UpstreamReply) o;
        return success == r.success && clientMsgId.equals(r.clientMsgId) && code.equals(r.code)
                && payload.equals(r.payload) && message.equals(r.message);
    }

    @Override
    public int hashCode() {
        return Objects.hash(clientMsgId, success, code, payload, message);
    }

    @Override
    public String toString() {
        return "UpstreamReply{" + clientMsgId + (success ? " success" : " failed") + " code=" + code
                + " payload=" + payload.length() + " chars" + (message.isEmpty() ? "" : " message=" + message) + '}';
    }
}
