package io.mss.server.sync;

import io.mss.server.store.Scope;
import io.mss.server.store.StoreException;
import io.mss.server.store.SyncPointStore;
import io.mss.server.store.SyncPoints;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Sync points for a remote store: {@link #advance} only notes the highest id per (device,
 * scope) and returns, so an ack never waits for the database on an event loop. One thread
 * writes what was noted every {@code interval}; what fails stays noted and goes with the next
 * pass. Losing a pending advance (a crash) is safe: sync points only decide where a catch-up
 * starts, the client's own sync point in its Hello wins, and a resent oplog is dropped by the
 * client.
 *
 * <p>Reads go to the store, raised to what is still pending here, so this node never reads
 * back a sync point older than one it was told.
 */
public final class BatchingSyncPointWriter implements SyncPointStore, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BatchingSyncPointWriter.class);

    private record Key(String deviceId, Scope scope) {
    }

    /** What to write: a position, and whether it replaces the stored one whatever that is. */
    private record Noted(Position position, boolean reset) {
    }

    private final SyncPointStore store;
    private final Map<Key, Noted> pending = new ConcurrentHashMap<>();
    private final ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "mss-syncpoint-writer");
        thread.setDaemon(true);
        return thread;
    });
    private volatile boolean storeWasDown;

    public BatchingSyncPointWriter(SyncPointStore store, Duration interval) {
        this.store = store;
        writer.scheduleWithFixedDelay(this::flush, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void advance(String deviceId, Scope scope, long epoch, long id) {
        // a reset noted before stays a reset: the store's older position must still be replaced
        pending.merge(new Key(deviceId, scope), new Noted(new Position(epoch, id), false),
                (was, now) -> new Noted(SyncPoints.advanced(was.position(), epoch, id), was.reset()));
    }

    @Override
    public void reset(String deviceId, Scope scope, long epoch, long id) {
        pending.put(new Key(deviceId, scope), new Noted(new Position(epoch, id), true));
    }

    @Override
    public Position position(String deviceId, Scope scope) {
        Noted noted = pending.get(new Key(deviceId, scope));
        Position stored = store.position(deviceId, scope);
        if (noted == null) {
            return stored;
        }
        return noted.reset() ? noted.position()
                : SyncPoints.advanced(stored, noted.position().epoch(), noted.position().id());
    }

    @Override
    public List<DeviceSyncPoint> list(Scope scope) {
        return store.list(scope);
    }

    /** How many sync points wait to be written. */
    public int pendingCount() {
        return pending.size();
    }

    /** Writes every noted sync point; one that fails stays noted for the next pass. */
    public void flush() {
        int failed = 0;
        StoreException last = null;
        for (Map.Entry<Key, Noted> entry : List.copyOf(pending.entrySet())) {
            Key key = entry.getKey();
            Noted noted = entry.getValue();
            Position position = noted.position();
            try {
                if (noted.reset()) {
                    store.reset(key.deviceId(), key.scope(), position.epoch(), position.id());
                } else {
                    store.advance(key.deviceId(), key.scope(), position.epoch(), position.id());
                }
                // only drop it when nothing newer arrived meanwhile
                pending.remove(key, noted);
            } catch (StoreException e) {
                failed++;
                last = e;
                break; // the store is away: the rest waits for the next pass too
            } catch (RuntimeException e) {
                log.warn("could not write the sync point of {} in {}", key.deviceId(), key.scope(), e);
                pending.remove(key, noted);
            }
        }
        if (last != null && !storeWasDown) {
            log.warn("sync points not written, store unavailable ({} waiting): {}", pending.size(), last.getMessage());
            storeWasDown = true;
        } else if (failed == 0 && storeWasDown) {
            log.info("sync points written again");
            storeWasDown = false;
        }
    }

    /** Writes what is pending, once, then stops. */
    @Override
    public void close() {
        writer.shutdown();
        try {
            writer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            flush();
        } catch (RuntimeException e) {
            log.warn("sync points lost at shutdown ({})", pending.size(), e);
        }
    }
}
