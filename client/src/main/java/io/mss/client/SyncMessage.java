package io.mss.client;

import java.util.Objects;

/**
 * One oplog delivered to a {@link MessageCallback}. Immutable.
 *
 * <p>Pass it back unchanged to {@link MssClient#reportMsgReceived}: the ack is matched on
 * bizType, scope, userId and id. The {@link #builder()} exists so apps can fake messages in their
 * own tests; acking a message the client never delivered is ignored.
 */
public final class SyncMessage {
    private final String bizType;
    private final Scope scope;
    private final long id;
    private final long epoch;
    private final boolean ephemeral;
    private final String payload;
    private final long createdAt;
    private final String userId;

    private SyncMessage(Builder b) {
        this.bizType = Objects.requireNonNull(b.bizType, "bizType");
        this.scope = Objects.requireNonNull(b.scope, "scope");
        this.id = b.id;
        this.epoch = b.epoch;
        this.ephemeral = b.ephemeral;
        this.payload = b.payload == null ? "" : b.payload;
        this.createdAt = b.createdAt;
        this.userId = b.userId;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String bizType() {
        return bizType;
    }

    public Scope scope() {
        return scope;
    }

    /** Grows within the scope's timeline ({@link #epoch()}). */
    public long id() {
        return id;
    }

    /**
     * The timeline of the scope this id belongs to; 0 when not known (a version 1 server, or a
     * message stored before epochs). Ids of different epochs are not comparable: after a
     * {@linkplain MessageCallback#onFullUpdate(FullUpdate) restart} ids start over.
     */
    public long epoch() {
        return epoch;
    }

    /**
     * A push of a non-persistent bizType: delivered only because the device was online, never
     * stored on either side and not retried. Acking it is allowed and does nothing.
     */
    public boolean ephemeral() {
        return ephemeral;
    }

    public String payload() {
        return payload;
    }

    /** Epoch millis when the server stored the oplog. */
    public long createdAt() {
        return createdAt;
    }

    /**
     * The user the client was signed in as when it received this message, or {@code null} if
     * none; for {@link Scope#USER} messages this is the owner of the scope.
     */
    public String userId() {
        return userId;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof SyncMessage)) {
            return false;
        }
        SyncMessage m = (SyncMessage) o;
        return id == m.id && epoch == m.epoch && ephemeral == m.ephemeral && createdAt == m.createdAt && bizType.equals(m.bizType) && scope == m.scope
                && payload.equals(m.payload) && Objects.equals(userId, m.userId);
    }

    @Override
    public int hashCode() {
        return Objects.hash(bizType, scope, id, epoch, ephemeral, payload, createdAt, userId);
    }

    @Override
    public String toString() {
        // the payload may be large or private: its size is enough for logs
        return "SyncMessage{" + bizType + ' ' + scope + (userId == null ? "" : " user=" + userId)
                + " id=" + id + (epoch == 0 ? "" : " epoch=" + epoch) + (ephemeral ? " ephemeral" : "")
                + " createdAt=" + createdAt + " payload=" + payload.length() + " chars}";
    }

    public static final class Builder {
        private String bizType;
        private Scope scope;
        private long id;
        private long epoch;
        private boolean ephemeral;
        private String payload;
        private long createdAt;
        private String userId;

        private Builder() {
        }

        public Builder bizType(String bizType) {
            this.bizType = bizType;
            return this;
        }

        public Builder scope(Scope scope) {
            this.scope = scope;
            return this;
        }

        public Builder id(long id) {
            this.id = id;
            return this;
        }

        public Builder epoch(long epoch) {
            this.epoch = epoch;
            return this;
        }

        public Builder ephemeral(boolean ephemeral) {
            this.ephemeral = ephemeral;
            return this;
        }

        public Builder payload(String payload) {
            this.payload = payload;
            return this;
        }

        public Builder createdAt(long createdAt) {
            this.createdAt = createdAt;
            return this;
        }

        public Builder userId(String userId) {
            this.userId = userId;
            return this;
        }

        public SyncMessage build() {
            return new SyncMessage(this);
        }
    }
}
