package io.mss.bench.measure;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * What one scenario run against one target counts: end-to-end latency (push call to receipt in the
 * load generator, both timed with the same process's {@code nanoTime}), messages sent / acknowledged /
 * received, errors, and a per-second series of deliveries for the throughput chart.
 */
public final class Meter {
    private final Recorder latency = new Recorder(TimeUnit.SECONDS.toMicros(120), 3);
    private final Histogram total = new Histogram(TimeUnit.SECONDS.toMicros(120), 3);
    public final LongAdder sent = new LongAdder();
    public final LongAdder acked = new LongAdder();
    public final LongAdder received = new LongAdder();
    public final LongAdder errors = new LongAdder();
    private final List<Long> receivedPerSecond = new ArrayList<>();
    private final List<Long> ackedPerSecond = new ArrayList<>();
    private long lastReceived;
    private long lastAcked;

    /** A payload carrying its send time, padded to {@code size} characters. */
    public static String payload(int size) {
        StringBuilder sb = new StringBuilder(size).append(System.nanoTime()).append('|');
        while (sb.length() < size) {
            sb.append('x');
        }
        return sb.toString();
    }

    /** Records one receipt; {@code payload} starts with the send time written by {@link #payload}. */
    public void receivedPayload(CharSequence payload) {
        long now = System.nanoTime();
        received.increment();
        int bar = indexOf(payload, '|');
        if (bar > 0) {
            long sentAt = Long.parseLong(payload, 0, bar, 10);
            latency.recordValue(Math.max(0, Math.min((now - sentAt) / 1000, TimeUnit.SECONDS.toMicros(120))));
        }
    }

    private static int indexOf(CharSequence s, char c) {
        for (int i = 0, n = Math.min(s.length(), 24); i < n; i++) {
            if (s.charAt(i) == c) {
                return i;
            }
        }
        return -1;
    }

    /** Called once a second by the progress printer: closes one point of the throughput series. */
    public synchronized long[] tick() {
        long r = received.sum();
        long a = acked.sum();
        long[] delta = {r - lastReceived, a - lastAcked};
        receivedPerSecond.add(delta[0]);
        ackedPerSecond.add(delta[1]);
        lastReceived = r;
        lastAcked = a;
        return delta;
    }

    /** Latency since the last call, folded into the run's total as well. */
    public synchronized Histogram takeInterval() {
        Histogram h = latency.getIntervalHistogram();
        total.add(h);
        return h;
    }

    public synchronized Histogram totalLatency() {
        takeInterval();
        return total.copy();
    }

    public synchronized void resetLatency() {
        latency.reset();
        total.reset();
    }

    public synchronized List<Long> receivedPerSecond() {
        return new ArrayList<>(receivedPerSecond);
    }

    public synchronized List<Long> ackedPerSecond() {
        return new ArrayList<>(ackedPerSecond);
    }

    /** p50 / p99 / p99.9 / max in milliseconds. */
    public static Map<String, Object> percentiles(Histogram h) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", h.getTotalCount());
        m.put("p50Ms", ms(h.getValueAtPercentile(50)));
        m.put("p99Ms", ms(h.getValueAtPercentile(99)));
        m.put("p999Ms", ms(h.getValueAtPercentile(99.9)));
        m.put("maxMs", ms(h.getMaxValue()));
        return m;
    }

    private static double ms(long micros) {
        return Math.round(micros / 10.0) / 100.0;
    }
}
