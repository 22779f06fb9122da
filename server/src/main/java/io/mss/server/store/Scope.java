package io.mss.server.store;

import java.util.Objects;

/**
 * The ordered timeline one oplog belongs to: {@code (bizType, USER, userId)},
 * {@code (bizType, DEVICE, deviceId)} or {@code (bizType, GLOBAL)}. Oplog ids only grow
 * within a scope.
 *
 * <p>A value: equal when the key is. Not a record, so that the key (the lookup key of every map
 * on the push and delivery paths) and its hash are computed once, not at each use.
 */
public final class Scope {
    public enum Kind { USER, DEVICE, GLOBAL }

    private final String bizType;
    private final Kind kind;
    private final String owner;
    private final String key;

    /** @param owner the userId or deviceId; empty (or anything: it is ignored) for GLOBAL */
    public Scope(String bizType, Kind kind, String owner) {
        this.bizType = Objects.requireNonNull(bizType, "bizType");
        this.kind = Objects.requireNonNull(kind, "kind");
        this.owner = kind == Kind.GLOBAL ? "" : Objects.requireNonNull(owner, "owner");
        if (kind != Kind.GLOBAL && this.owner.isEmpty()) {
            throw new IllegalArgumentException(kind + " scope needs an owner");
        }
        this.key = bizType + '|' + kind.name().charAt(0) + '|' + this.owner;
    }

    public static Scope user(String bizType, String userId) {
        return new Scope(bizType, Kind.USER, userId);
    }

    public static Scope device(String bizType, String deviceId) {
        return new Scope(bizType, Kind.DEVICE, deviceId);
    }

    public static Scope global(String bizType) {
        return new Scope(bizType, Kind.GLOBAL, "");
    }

    public String bizType() {
        return bizType;
    }

    public Kind kind() {
        return kind;
    }

    /** The userId or deviceId; empty for GLOBAL. */
    public String owner() {
        return owner;
    }

    /** A stable, unambiguous text key: bizTypes never contain '|'. */
    public String key() {
        return key;
    }

    @Override
    public boolean equals(Object o) {
        return o == this || (o instanceof Scope other && key.equals(other.key));
    }

    @Override
    public int hashCode() {
        return key.hashCode();
    }

    @Override
    public String toString() {
        return key;
    }
}
