package io.mss.server.store;

import java.util.Objects;

/**
 * The ordered timeline one oplog belongs to: {@code (bizType, USER, userId)},
 * {@code (bizType, DEVICE, deviceId)} or {@code (bizType, GLOBAL)}. Oplog ids only grow
 * within a scope.
 *
 * @param owner the userId or deviceId; empty for GLOBAL
 */
public record Scope(String bizType, Kind kind, String owner) {
    public enum Kind { USER, DEVICE, GLOBAL }

    public Scope {
        Objects.requireNonNull(bizType, "bizType");
        Objects.requireNonNull(kind, "kind");
        owner = kind == Kind.GLOBAL ? "" : Objects.requireNonNull(owner, "owner");
        if (kind != Kind.GLOBAL && owner.isEmpty()) {
            throw new IllegalArgumentException(kind + " scope needs an owner");
        }
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

    /** A stable, unambiguous text key: bizTypes never contain '|'. */
    public String key() {
        return bizType + '|' + kind.name().charAt(0) + '|' + owner;
    }

    @Override
    public String toString() {
        return key();
    }
}
