package io.mss.server.upstream;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class ExpiringCacheTest {
    private final AtomicLong now = new AtomicLong(1_000);

    @Test
    void entriesExpireAfterTheirTtl() {
        ExpiringCache<String, String> cache = new ExpiringCache<>(10, Long.MAX_VALUE, now::get);
        cache.put("a", "1", 100, 1);
        now.addAndGet(99);
        assertThat(cache.get("a")).isEqualTo("1");
        now.addAndGet(1);
        assertThat(cache.get("a")).isNull();
        assertThat(cache.size()).isZero();
    }

    @Test
    void theOldestWritesGoFirstWhenFull() {
        ExpiringCache<String, String> cache = new ExpiringCache<>(2, Long.MAX_VALUE, now::get);
        cache.put("a", "1", 1000, 1);
        cache.put("b", "2", 1000, 1);
        cache.put("a", "1'", 1000, 1); // rewriting moves it to the back
        cache.put("c", "3", 1000, 1);
        assertThat(cache.get("b")).isNull();
        assertThat(cache.get("a")).isEqualTo("1'");
        assertThat(cache.get("c")).isEqualTo("3");
    }

    @Test
    void totalWeightIsBounded() {
        ExpiringCache<String, String> cache = new ExpiringCache<>(100, 10, now::get);
        cache.put("a", "1", 1000, 6);
        cache.put("b", "2", 1000, 6);
        assertThat(cache.get("a")).isNull();
        assertThat(cache.weight()).isEqualTo(6);
        cache.put("huge", "x", 1000, 11);
        assertThat(cache.get("huge")).isNull();
        assertThat(cache.get("b")).isEqualTo("2");
    }

    @Test
    void putIfAbsentKeepsTheLiveValueAndRemoveOnlyDropsTheSameValue() {
        ExpiringCache<String, String> cache = new ExpiringCache<>(10, Long.MAX_VALUE, now::get);
        String first = new String("first");
        assertThat(cache.putIfAbsent("k", first, 100, 0)).isNull();
        assertThat(cache.putIfAbsent("k", "second", 100, 0)).isSameAs(first);
        assertThat(cache.remove("k", new String("first"))).isFalse();
        assertThat(cache.remove("k", first)).isTrue();
        now.addAndGet(1);
        assertThat(cache.putIfAbsent("k", "third", 100, 0)).isNull();
        now.addAndGet(100);
        assertThat(cache.putIfAbsent("k", "fourth", 100, 0)).isNull();
        assertThat(cache.get("k")).isEqualTo("fourth");
    }
}
