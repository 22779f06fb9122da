package io.mss.client.internal;

import io.mss.client.Scope;
import io.mss.client.internal.proto.ScopeKind;
import io.mss.client.internal.proto.SyncPoint;

/** Between the SDK's scopes and sync points and their protobuf form. */
final class Wire {
    private Wire() {
    }

    static SyncPoint syncPoint(ScopeKey key, long id, long epoch) {
        return SyncPoint.newBuilder().setBizType(key.bizType()).setScope(toKind(key.scope())).setId(id)
                .setEpoch(epoch).build();
    }

    /** @return null for a kind this client does not know */
    static Scope toScope(ScopeKind kind) {
        switch (kind) {
            case USER:
                return Scope.USER;
            case DEVICE:
                return Scope.DEVICE;
            case GLOBAL:
                return Scope.GLOBAL;
            default:
                return null;
        }
    }

    static ScopeKind toKind(Scope scope) {
        switch (scope) {
            case USER:
                return ScopeKind.USER;
            case DEVICE:
                return ScopeKind.DEVICE;
            default:
                return ScopeKind.GLOBAL;
        }
    }
}
