package io.mss.server.sync;

import io.mss.server.metrics.MssMetrics;
import io.mss.server.store.Oplog;
import io.mss.server.store.Scope;
import io.mss.server.store.StoreException;
import io.mss.server.store.SyncPointStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The poison cutoff: counts how often the first unacked oplog of a scope was sent to a device,
 * across its sessions, and skips it for that device once it was sent
 * {@value SyncEngine#POISON_CUTOFF_ATTEMPTS} times without an ack (a client that crashes on it
 * would otherwise be sent it on every connection).
 *
 * <p>Threading: {@link #poisoned} and {@link #acked} run on the event loops of the sessions, any
 * number at once; the counts are per deviceId|scope in a concurrent map, each raised atomically
 * (the reset after a cutoff is a separate step: two sessions of one device at once may lose a count).
 * {@link #cutoffs} is read from any thread.
 */
final class PoisonCutoff {
    /** Logs under the engine's name, as it did before it had its own class. */
    private static final Logger log = LoggerFactory.getLogger(SyncEngine.class);
    private static final Logger events = LoggerFactory.getLogger("mss.events");

    private final SyncPointStore syncPoints;
    private final MssMetrics metrics;
    /** deviceId|scope -> the first unacked oplog sent to it, and how many sessions were sent it. */
    private final Map<String, long[]> deliveryAttempts = new ConcurrentHashMap<>();
    private final AtomicLong poisonCutoffs = new AtomicLong();

    PoisonCutoff(SyncPointStore syncPoints, MssMetrics metrics) {
        this.syncPoints = syncPoints;
        this.metrics = metrics;
    }

    /**
     * Counts a delivery of the first unacked oplog of a scope to a device; true when it has
     * been sent {@value SyncEngine#POISON_CUTOFF_ATTEMPTS} times already, and the device skips it.
     */
    boolean poisoned(String deviceId, Cursor cursor, Oplog oplog) {
        String key = deviceId + '|' + cursor.scope.key();
        long[] attempts = deliveryAttempts.compute(key, (k, seen) ->
                seen != null && seen[0] == oplog.id() ? new long[]{seen[0], seen[1] + 1} : new long[]{oplog.id(), 1});
        if (attempts[1] <= SyncEngine.POISON_CUTOFF_ATTEMPTS) {
            return false;
        }
        deliveryAttempts.remove(key);
        poisonCutoffs.incrementAndGet();
        metrics.poisonCutoff();
        try {
            syncPoints.advance(cursor.syncPointOwner, cursor.scope, cursor.epoch, oplog.id());
        } catch (StoreException e) {
            // skipped all the same; the next ack stores the sync point
            log.warn("could not store the sync point past poison oplog {} of {}", oplog.id(), cursor.scope, e);
        }
        events.warn("cutoff device={} scope={} oplog={} reason=\"sent {} times without an ack\"",
                deviceId, cursor.scope, oplog.id(), SyncEngine.POISON_CUTOFF_ATTEMPTS);
        return true;
    }

    /** The device acknowledged up to {@code syncPoint}: an oplog counted at or below it was not poison. */
    void acked(String deviceId, Scope scope, long syncPoint) {
        String key = deviceId + '|' + scope.key();
        deliveryAttempts.computeIfPresent(key, (k, seen) -> seen[0] <= syncPoint ? null : seen);
    }

    /** How many oplogs were skipped by the poison cutoff since start. */
    long cutoffs() {
        return poisonCutoffs.get();
    }
}
