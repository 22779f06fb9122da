package io.mss.server.api;

import io.mss.server.metrics.MssMetrics;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The overview's statistics sampled every two seconds for the last five minutes, whether or not a
 * console has the Overview open: its charts cover the time spent on other pages, or with no
 * console open at all. Sampled on a timer thread of its own; read by the HTTP threads.
 */
final class StatsHistory implements AutoCloseable {
    static final long PERIOD_MS = 2000;
    static final int SAMPLES = 150;

    private final MssMetrics metrics;
    private final ArrayDeque<Map<String, Object>> samples = new ArrayDeque<>(SAMPLES);
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "mss-stats-history");
        thread.setDaemon(true);
        return thread;
    });

    StatsHistory(MssMetrics metrics) {
        this.metrics = metrics;
        timer.scheduleAtFixedRate(this::sample, 0, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    private void sample() {
        Map<String, Object> snapshot = metrics.snapshot();
        synchronized (samples) {
            if (samples.size() == SAMPLES) {
                samples.removeFirst();
            }
            samples.addLast(snapshot);
        }
    }

    /** Samples taken after {@code sinceMillis}, oldest first. */
    List<Map<String, Object>> since(long sinceMillis) {
        List<Map<String, Object>> after = new ArrayList<>();
        synchronized (samples) {
            for (Map<String, Object> sample : samples) {
                if (((Number) sample.get("timestamp")).longValue() > sinceMillis) {
                    after.add(sample);
                }
            }
        }
        return after;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
