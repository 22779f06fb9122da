package io.mss.server.upstream;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A map bounded by entry count, total weight and time: each entry expires after its own TTL,
 * and when a bound is exceeded the least recently written entries go first. Thread-safe: one
 * lock, held only for map operations.
 *
 * <p>Values are compared by identity in {@link #remove(Object, Object)}, so a caller can drop
 * the entry it wrote without dropping one written after it.
 */
public final class ExpiringCache<K, V> {
    private record Entry<V>(V value, long expiresAt, long weight) {
    }

    private final int maxEntries;
    private final long maxWeight;
    private final LongSupplier clock;
    /** Insertion order: rewriting a key moves it to the end. */
    private final LinkedHashMap<K, Entry<V>> map = new LinkedHashMap<>();
    private long weight;

    /**
     * @param maxEntries most entries kept
     * @param maxWeight  most total weight kept (see {@link #put}); Long.MAX_VALUE for no bound
     * @param clock      epoch millis
     */
    public ExpiringCache(int maxEntries, long maxWeight, LongSupplier clock) {
        if (maxEntries < 1 || maxWeight < 1) {
            throw new IllegalArgumentException("bounds must be positive");
        }
        this.maxEntries = maxEntries;
        this.maxWeight = maxWeight;
        this.clock = clock;
    }

    /** The live value for {@code key}, or null. */
    public synchronized V get(K key) {
        Entry<V> entry = map.get(key);
        if (entry == null) {
            return null;
        }
        if (entry.expiresAt <= clock.getAsLong()) {
            drop(key, entry);
            return null;
        }
        return entry.value;
    }

    /** Stores {@code value} unless a live value exists; returns that live value, or null when stored. */
    public synchronized V putIfAbsent(K key, V value, long ttlMillis, long weight) {
        V existing = get(key);
        if (existing != null) {
            return existing;
        }
        put(key, value, ttlMillis, weight);
        return null;
    }

    /** Stores or replaces {@code key}; a weight above the cache's bound is not kept. */
    public synchronized void put(K key, V value, long ttlMillis, long weight) {
        Entry<V> old = map.remove(key);
        if (old != null) {
            this.weight -= old.weight;
        }
        if (ttlMillis <= 0 || weight > maxWeight) {
            return;
        }
        map.put(key, new Entry<>(value, clock.getAsLong() + ttlMillis, weight));
        this.weight += weight;
        evict();
    }

    /** Removes {@code key} if it still maps to this very {@code value}. */
    public synchronized boolean remove(K key, V value) {
        Entry<V> entry = map.get(key);
        if (entry == null || entry.value != value) {
            return false;
        }
        drop(key, entry);
        return true;
    }

    public synchronized int size() {
        return map.size();
    }

    public synchronized long weight() {
        return weight;
    }

    private void drop(K key, Entry<V> entry) {
        map.remove(key);
        weight -= entry.weight;
    }

    private void evict() {
        long now = clock.getAsLong();
        Iterator<Map.Entry<K, Entry<V>>> it = map.entrySet().iterator();
        while (it.hasNext()) {
            Entry<V> oldest = it.next().getValue();
            boolean over = map.size() > maxEntries || weight > maxWeight;
            if (!over && oldest.expiresAt > now) {
                break;
            }
            it.remove();
            weight -= oldest.weight;
        }
    }
}
