package io.mss.server.api;

import io.mss.server.store.Scope;
import io.mss.server.sync.AckListener;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The last acks of recently active devices, in memory, for the console's device and user
 * lookup. Bounded: {@value #PER_DEVICE} acks per device, {@value #MAX_DEVICES} devices, the
 * least recently acking dropped first. Called on event loops, read by HTTP threads.
 */
final class RecentAcks implements AckListener {
    static final int PER_DEVICE = 10;
    static final int MAX_DEVICES = 10_000;

    /** One ack that moved a sync point. */
    record Ack(String bizType, String scope, String owner, long syncPoint, long ackedAt) {
    }

    private final Map<String, Deque<Ack>> byDevice = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Deque<Ack>> eldest) {
            return size() > MAX_DEVICES;
        }
    };

    @Override
    public synchronized void acked(String deviceId, String userId, Scope scope, long syncPoint, long ackedAt) {
        Deque<Ack> acks = byDevice.computeIfAbsent(deviceId, d -> new ArrayDeque<>());
        acks.addFirst(new Ack(scope.bizType(), scope.kind().name(), scope.owner(), syncPoint, ackedAt));
        if (acks.size() > PER_DEVICE) {
            acks.removeLast();
        }
    }

    /** Newest first; empty for a device that has not acked since the server started. */
    synchronized List<Ack> of(String deviceId) {
        Deque<Ack> acks = byDevice.get(deviceId);
        return acks == null ? List.of() : new ArrayList<>(acks);
    }
}
