package io.mss.client.internal;

import java.util.Random;

/**
 * Capped exponential backoff with full jitter: each failure doubles a cap (starting from min,
 * at most max) and the delay is uniform in [min, cap], so that many clients dropped at once by
 * a server restart spread their reconnects instead of arriving together.
 *
 * <p>Not thread-safe: the client's state thread owns it.
 */
public final class Backoff {
    private final long minMillis;
    private final long maxMillis;
    private final Random random;
    private long cap;

    public Backoff(long minMillis, long maxMillis, Random random) {
        if (minMillis < 1 || maxMillis < minMillis) {
            throw new IllegalArgumentException("need 1 <= min <= max, got " + minMillis + ", " + maxMillis);
        }
        this.minMillis = minMillis;
        this.maxMillis = maxMillis;
        this.random = random;
        this.cap = minMillis;
    }

    /** Counts a failure and returns how long to wait before the next attempt. */
    public long nextDelayMillis() {
        cap = cap > maxMillis / 2 ? maxMillis : Math.min(maxMillis, cap * 2);
        long span = cap - minMillis + 1;
        return minMillis + Math.min(span - 1, (long) (random.nextDouble() * span));
    }

    /** After a connection got its Welcome: the next failure waits about min again. */
    public void reset() {
        cap = minMillis;
    }

    /** The upper bound of the delay the last {@link #nextDelayMillis()} drew from. */
    public long currentCapMillis() {
        return cap;
    }
}
