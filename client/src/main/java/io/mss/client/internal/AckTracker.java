package io.mss.client.internal;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Per scope: which ids went to the callback (dedup) and how far the acked prefix reaches (the
 * sync point).
 *
 * <p>The prefix is contiguous in delivery order, not in id values: the server may skip ids it
 * trimmed, so "4 follows 3" cannot be assumed, but the ids the client delivered are exactly
 * those it must see acked before it may promise the server it stored everything up to one.
 *
 * <p>Not thread-safe: the client's state thread owns it.
 */
public final class AckTracker {
    private final SyncPointStore store;
    private final Map<ScopeKey, ScopeState> scopes = new HashMap<>();

    public AckTracker(SyncPointStore store) {
        this.store = store;
    }

    private static final class ScopeState {
        long syncPoint;
        long highestDispatched;
        /** Delivered ids above the sync point, mapped to whether they were acked. */
        final TreeMap<Long, Boolean> unacked = new TreeMap<>();
    }

    private ScopeState state(ScopeKey key) {
        ScopeState s = scopes.get(key);
        if (s == null) {
            s = new ScopeState();
            Long stored = store.get(key);
            // a new process starts deduplicating at what an earlier one acked
            s.syncPoint = stored == null ? 0 : stored;
            s.highestDispatched = s.syncPoint;
            scopes.put(key, s);
        }
        return s;
    }

    /**
     * Records that {@code id} is about to be handed to the callback, unless it was delivered
     * before (or acked by an earlier process).
     *
     * @return whether to deliver it
     */
    public boolean markDispatched(ScopeKey key, long id) {
        ScopeState s = state(key);
        if (id <= s.highestDispatched) {
            return false;
        }
        s.highestDispatched = id;
        s.unacked.put(id, Boolean.FALSE);
        return true;
    }

    /**
     * Acks a delivered id. Moves the sync point over the acked prefix and, when it moved, raises
     * it in the store (in memory; the caller saves).
     *
     * @return whether the sync point moved
     */
    public boolean ack(ScopeKey key, long id) {
        ScopeState s = scopes.get(key);
        if (s == null || !Boolean.FALSE.equals(s.unacked.get(id))) {
            return false;
        }
        s.unacked.put(id, Boolean.TRUE);
        boolean moved = false;
        while (!s.unacked.isEmpty() && s.unacked.firstEntry().getValue()) {
            s.syncPoint = s.unacked.pollFirstEntry().getKey();
            moved = true;
        }
        if (moved) {
            store.put(key, s.syncPoint);
        }
        return moved;
    }

    public long syncPoint(ScopeKey key) {
        return state(key).syncPoint;
    }

    public long highestDispatched(ScopeKey key) {
        return state(key).highestDispatched;
    }

    /** Delivered ids above the sync point, acked or not. */
    public int unackedCount(ScopeKey key) {
        ScopeState s = scopes.get(key);
        return s == null ? 0 : s.unacked.size();
    }
}
