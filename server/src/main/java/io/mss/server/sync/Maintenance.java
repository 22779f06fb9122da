package io.mss.server.sync;

import io.mss.server.biz.BizType;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.Oplog;
import io.mss.server.store.OplogStore;
import io.mss.server.store.Scope;
import io.mss.server.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Deletes what the store need not keep: the oldest oplogs of THRESHOLD scopes beyond their
 * threshold, and oplogs past their bizType's retention.
 *
 * <p>Threading: {@link #noteTrimming} runs on the store's commit thread (a commit listener) and
 * only notes the scopes due; the trimming and the retention purge run on one maintenance thread,
 * never on a store thread. {@link #purgeExpired} is also called directly, on the caller's thread (tests).
 */
final class Maintenance implements AutoCloseable {
    /** Logs under the engine's name, as it did before it had its own class. */
    private static final Logger log = LoggerFactory.getLogger(SyncEngine.class);
    private static final Logger events = LoggerFactory.getLogger("mss.events");
    private static final long DAY_MS = 24L * 3600 * 1000;

    private final OplogStore oplogs;
    private final BizTypeStore bizTypes;
    private final BizTypeConfigs configs;
    private final Clock clock;
    /** THRESHOLD scopes whose oldest oplogs are due for trimming, with the newest id seen. */
    private final Map<Scope, Long> trimDue = new ConcurrentHashMap<>();
    private final ScheduledExecutorService maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "mss-maintenance");
        thread.setDaemon(true);
        return thread;
    });

    Maintenance(OplogStore oplogs, BizTypeStore bizTypes, BizTypeConfigs configs, Clock clock) {
        this.oplogs = oplogs;
        this.bizTypes = bizTypes;
        this.configs = configs;
        this.clock = clock;
    }

    /** Trims the scopes {@link #noteTrimming} noted, every second. */
    void startTrimming() {
        maintenance.scheduleWithFixedDelay(this::trimDueScopes, 1, 1, TimeUnit.SECONDS);
    }

    /** A commit listener: notes the THRESHOLD scopes of the batch that went past their threshold. */
    void noteTrimming(List<Oplog> committed) {
        try {
            noteTrimmingOf(committed);
        } catch (RuntimeException e) {
            // the bizType lookup failed: these scopes are trimmed after their next commit
            log.warn("could not note the scopes to trim", e);
        }
    }

    private void noteTrimmingOf(List<Oplog> committed) {
        Map<Scope, Long> newest = new HashMap<>();
        for (Oplog oplog : committed) {
            newest.merge(oplog.scope(), oplog.id(), Math::max);
        }
        // one lookup per bizType and batch, from the cache
        Map<String, Optional<BizType>> seen = new HashMap<>();
        newest.forEach((scope, id) -> {
            Optional<BizType> bizType = seen.computeIfAbsent(scope.bizType(), configs::get);
            if (bizType.isPresent() && bizType.get().rePushMode() == BizType.RePushMode.THRESHOLD
                    && id > bizType.get().rePushThreshold()) {
                trimDue.merge(scope, id, Math::max);
            }
        });
    }

    /** THRESHOLD scopes keep only their newest n oplogs on disk, too. */
    private void trimDueScopes() {
        for (Scope scope : List.copyOf(trimDue.keySet())) {
            Long newest = trimDue.remove(scope);
            if (newest == null) {
                continue;
            }
            // an exception leaving this method would cancel the schedule for good
            try {
                Optional<BizType> bizType = configs.get(scope.bizType());
                if (bizType.isEmpty() || bizType.get().rePushMode() != BizType.RePushMode.THRESHOLD) {
                    continue;
                }
                oplogs.trim(scope, newest - bizType.get().rePushThreshold());
            } catch (RuntimeException e) {
                log.warn("could not trim {}; trying again at the next pass", scope, e);
                trimDue.merge(scope, newest, Math::max);
            }
        }
    }

    /** Deletes expired oplogs every {@code interval}, first right away. */
    void startRetentionPurge(Duration interval) {
        maintenance.scheduleWithFixedDelay(this::purgeExpired, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One pass of the retention purge; returns how many oplogs were deleted. */
    long purgeExpired() {
        long deleted = 0;
        long now = clock.millis();
        try {
            for (BizType bizType : bizTypes.list()) {
                for (Scope scope : oplogs.scopes(bizType.id())) {
                    deleted += oplogs.purgeExpired(scope, now, bizType.retentionDays() * DAY_MS);
                }
            }
        } catch (StoreException e) {
            log.warn("retention purge failed; trying again at the next pass", e);
        }
        if (deleted > 0) {
            events.info("purge deleted={} reason=\"retention or validity expired\"", deleted);
        }
        return deleted;
    }

    /** Stops the maintenance thread; a pass under way is interrupted. */
    @Override
    public void close() {
        maintenance.shutdownNow();
    }
}
