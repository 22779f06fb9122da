package io.mss.server.store;

import java.security.SecureRandom;

/**
 * Where a scope's timeline stands: its epoch and the highest id ever assigned on it.
 *
 * <p>An epoch names one timeline of a scope. It is drawn when the scope gets its first oplog,
 * drawn again when the bizType's data is deleted (so a bizType created again with that id starts
 * a new timeline) and for every scope when a store is restored ({@link OplogStore#startNewTimelines}).
 * A position (a sync point) is only comparable with the head of its own epoch: ids of two
 * timelines say nothing about each other.
 *
 * @param epoch  1..2^53-1, so that it survives JSON and JavaScript numbers; 0 when the scope
 *               never had an oplog
 * @param lastId 0 when the scope never had an oplog; trimming and purging never lower it
 */
public record ScopeHead(long epoch, long lastId) {

    /** A scope that never had an oplog. */
    public static final ScopeHead NONE = new ScopeHead(0, 0);

    /** Largest epoch: 2^53-1, the largest integer a JavaScript number holds exactly. */
    public static final long MAX_EPOCH = (1L << 53) - 1;

    private static final SecureRandom RANDOM = new SecureRandom();

    /** A fresh epoch: random, so a restored or recreated store cannot hand out one that was seen before. */
    public static long newEpoch() {
        return 1 + (RANDOM.nextLong() & Long.MAX_VALUE) % MAX_EPOCH;
    }
}
