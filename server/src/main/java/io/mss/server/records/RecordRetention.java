package io.mss.server.records;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Deletes operation records older than the retention: once right after start, then daily. */
public final class RecordRetention implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RecordRetention.class);

    public static final Duration DEFAULT_RETENTION = Duration.ofDays(90);

    private final RecordStore records;
    private final Clock clock;
    private final Duration retention;
    private final ScheduledExecutorService timer;

    private RecordRetention(RecordStore records, Clock clock, Duration retention) {
        this.records = records;
        this.clock = clock;
        this.retention = retention;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "mss-records-retention");
            thread.setDaemon(true);
            return thread;
        });
    }

    /** Purges in the background now (so a long-stopped server starts without waiting) and every {@code interval}. */
    public static RecordRetention start(RecordStore records, Clock clock, Duration retention, Duration interval) {
        RecordRetention purger = new RecordRetention(records, clock, retention);
        purger.timer.scheduleWithFixedDelay(purger::purgeNow, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        return purger;
    }

    public static RecordRetention start(RecordStore records, Clock clock) {
        return start(records, clock, DEFAULT_RETENTION, Duration.ofDays(1));
    }

    /** @return how many records were deleted */
    public long purgeNow() {
        try {
            long purged = records.purgeOlderThan(clock.millis() - retention.toMillis());
            if (purged > 0) {
                log.info("purged {} operation records older than {} days", purged, retention.toDays());
            }
            return purged;
        } catch (RuntimeException e) {
            log.warn("could not purge operation records: {}", e.toString());
            return 0;
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
