package io.mss.client.internal;

import io.mss.client.Scope;
import io.mss.client.SyncMessage;

import java.util.Objects;

/**
 * One timeline as the client stores it: (bizType, scope, owner), where the owner is the userId
 * for USER scopes and "" otherwise. DEVICE scopes need no owner because a state directory
 * belongs to one device.
 */
public final class ScopeKey {
    private final String bizType;
    private final Scope scope;
    private final String owner;
    /** Computed once: keys are looked up several times per message on the state thread. */
    private final int hash;

    public ScopeKey(String bizType, Scope scope, String owner) {
        this.bizType = Objects.requireNonNull(bizType, "bizType");
        this.scope = Objects.requireNonNull(scope, "scope");
        this.owner = scope == Scope.USER ? Objects.requireNonNull(owner, "owner") : "";
        if (scope == Scope.USER && owner.isEmpty()) {
            throw new IllegalArgumentException("a USER scope needs a userId");
        }
        this.hash = (bizType.hashCode() * 31 + scope.ordinal()) * 31 + this.owner.hashCode();
    }

    public static ScopeKey user(String bizType, String userId) {
        return new ScopeKey(bizType, Scope.USER, userId);
    }

    public static ScopeKey device(String bizType) {
        return new ScopeKey(bizType, Scope.DEVICE, "");
    }

    public static ScopeKey global(String bizType) {
        return new ScopeKey(bizType, Scope.GLOBAL, "");
    }

    /** The scope a delivered message belongs to, or null for a USER message without a user. */
    public static ScopeKey of(SyncMessage m) {
        if (m.scope() == Scope.USER) {
            return m.userId() == null || m.userId().isEmpty() ? null : user(m.bizType(), m.userId());
        }
        return new ScopeKey(m.bizType(), m.scope(), "");
    }

    /** Whether {@code m} belongs to this scope: what {@link #of} would give, without building a key. */
    boolean holds(SyncMessage m) {
        return m.scope() == scope && m.bizType().equals(bizType)
                && (scope != Scope.USER || owner.equals(m.userId()));
    }

    public String bizType() {
        return bizType;
    }

    public Scope scope() {
        return scope;
    }

    public String owner() {
        return owner;
    }

    /** Whether this scope belongs in a session signed in as {@code userIdOrNull}. */
    public boolean visibleTo(String userIdOrNull) {
        return scope != Scope.USER || owner.equals(userIdOrNull);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof ScopeKey)) {
            return false;
        }
        ScopeKey k = (ScopeKey) o;
        return bizType.equals(k.bizType) && scope == k.scope && owner.equals(k.owner);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return bizType + '/' + scope + (owner.isEmpty() ? "" : "/" + owner);
    }
}
