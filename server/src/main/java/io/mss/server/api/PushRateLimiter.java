package io.mss.server.api;

import java.util.concurrent.ConcurrentHashMap;

/** A token bucket per API key id: {@code rate} pushes a second, bursts of up to one second's worth. */
final class PushRateLimiter {
    private final int ratePerSecond;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    private static final class Bucket {
        double tokens;
        long refilledAt;
    }

    PushRateLimiter(int ratePerSecond) {
        this.ratePerSecond = ratePerSecond;
    }

    boolean enabled() {
        return ratePerSecond > 0;
    }

    /** 0 when the request may go; otherwise the milliseconds until one token is back. */
    long take(String keyId, long nowNanos) {
        Bucket bucket = buckets.computeIfAbsent(keyId, k -> {
            Bucket b = new Bucket();
            b.tokens = ratePerSecond;
            b.refilledAt = nowNanos;
            return b;
        });
        synchronized (bucket) {
            double elapsedSeconds = Math.max(0, nowNanos - bucket.refilledAt) / 1e9;
            bucket.tokens = Math.min(ratePerSecond, bucket.tokens + elapsedSeconds * ratePerSecond);
            bucket.refilledAt = nowNanos;
            if (bucket.tokens >= 1) {
                bucket.tokens -= 1;
                return 0;
            }
            return (long) Math.ceil((1 - bucket.tokens) * 1000.0 / ratePerSecond);
        }
    }
}
