package io.mss.server.cluster;

import io.mss.server.store.Scope;

/** Reads back {@link Scope#key()}: {@code bizType|K|owner}; bizTypes never contain '|', owners may. */
final class ScopeKeys {
    private ScopeKeys() {
    }

    static Scope parse(String key) {
        int first = key.indexOf('|');
        if (first < 1 || key.length() < first + 3 || key.charAt(first + 2) != '|') {
            throw new IllegalArgumentException("not a scope key: " + key);
        }
        String bizType = key.substring(0, first);
        String owner = key.substring(first + 3);
        return switch (key.charAt(first + 1)) {
            case 'U' -> Scope.user(bizType, owner);
            case 'D' -> Scope.device(bizType, owner);
            case 'G' -> Scope.global(bizType);
            default -> throw new IllegalArgumentException("not a scope key: " + key);
        };
    }
}
