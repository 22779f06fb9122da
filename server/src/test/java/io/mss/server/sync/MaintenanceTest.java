package io.mss.server.sync;

import io.mss.server.biz.BizType;
import io.mss.server.store.AppendRequest;
import io.mss.server.store.Scope;
import io.mss.server.store.rocksdb.RocksDbStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Threshold trimming and the retention purge, over a real store, on the maintenance thread. */
class MaintenanceTest {
    private static final long DAY_MS = 24L * 3600 * 1000;
    private static final Instant NOW = Instant.parse("2024-06-01T00:00:00Z");
    private static final Scope CHAT = Scope.user("CHAT", "alice");
    private static final Scope ORDER = Scope.user("ORDER", "alice");

    @TempDir
    Path dir;
    private RocksDbStore store;
    private Maintenance maintenance;

    @BeforeEach
    void open() {
        store = RocksDbStore.open(dir.resolve("store"));
        store.put(new BizType("CHAT", "", BizType.Range.APPOINTED, BizType.Target.USER, true, true, 30,
                BizType.RePushMode.THRESHOLD, 3, BizType.Status.ONLINE, null, null));
        store.put(new BizType("ORDER", "", BizType.Range.APPOINTED, BizType.Target.USER, true, true, 1,
                BizType.RePushMode.ALL, 0, BizType.Status.ONLINE, null, null));
        maintenance = new Maintenance(store, store, new BizTypeConfigs(store), Clock.fixed(NOW, ZoneOffset.UTC));
        store.onCommit(maintenance::noteTrimming);
    }

    @AfterEach
    void close() {
        maintenance.close();
        store.close();
    }

    private void append(Scope scope, long createdAt) {
        store.append(new AppendRequest(scope, "alice", "p", null, createdAt, 0, 0)).join();
    }

    /** A THRESHOLD scope keeps its newest n oplogs; a scope of another mode keeps all of them. */
    @Test
    void thresholdScopesAreTrimmedToTheirNewest() {
        for (int i = 0; i < 8; i++) {
            append(CHAT, NOW.toEpochMilli());
            append(ORDER, NOW.toEpochMilli());
        }
        maintenance.startTrimming();

        await().atMost(Duration.ofSeconds(10)).until(() -> store.read(CHAT, 0, 100).size() == 3);
        assertThat(store.read(CHAT, 0, 100).get(0).id()).isEqualTo(6);
        assertThat(store.read(ORDER, 0, 100)).hasSize(8);
    }

    /** The purge deletes the oplogs past their bizType's retention, and only those. */
    @Test
    void thePurgeDeletesWhatOutlivedItsRetention() {
        append(ORDER, NOW.toEpochMilli() - 2 * DAY_MS);
        append(ORDER, NOW.toEpochMilli() - 2 * DAY_MS);
        append(ORDER, NOW.toEpochMilli());
        append(CHAT, NOW.toEpochMilli() - 2 * DAY_MS); // CHAT keeps 30 days

        assertThat(maintenance.purgeExpired()).isEqualTo(2);
        assertThat(store.read(ORDER, 0, 100)).extracting(o -> o.id()).containsExactly(3L);
        assertThat(store.read(CHAT, 0, 100)).hasSize(1);
        assertThat(maintenance.purgeExpired()).isZero();
    }
}
