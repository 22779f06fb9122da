package io.mss.server.sync;

import io.mss.server.store.Scope;
import io.mss.server.store.StoreException;
import io.mss.server.store.SyncPointStore;
import io.mss.server.store.rocksdb.RocksDbStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Acks never wait for the store: the highest id per (device, scope) is written later, again after a failure. */
class BatchingSyncPointWriterTest {
    private static final Scope ALICE = Scope.user("ORDER", "alice");
    private static final Scope BOB = Scope.user("ORDER", "bob");

    @TempDir
    Path dir;
    private RocksDbStore store;
    private final AtomicBoolean storeDown = new AtomicBoolean();
    private final AtomicInteger writes = new AtomicInteger();
    /** The real store, unreachable while {@link #storeDown} is set (as a database that stalls). */
    private SyncPointStore flaky;

    @BeforeEach
    void open() {
        store = RocksDbStore.open(dir.resolve("store"));
        flaky = new SyncPointStore() {
            @Override
            public Position position(String deviceId, Scope scope) {
                return store.position(deviceId, scope);
            }

            @Override
            public void advance(String deviceId, Scope scope, long epoch, long id) {
                if (storeDown.get()) {
                    throw new StoreException("store unavailable");
                }
                writes.incrementAndGet();
                store.advance(deviceId, scope, epoch, id);
            }

            @Override
            public void reset(String deviceId, Scope scope, long epoch, long id) {
                if (storeDown.get()) {
                    throw new StoreException("store unavailable");
                }
                writes.incrementAndGet();
                store.reset(deviceId, scope, epoch, id);
            }

            @Override
            public List<DeviceSyncPoint> list(Scope scope) {
                return store.list(scope);
            }
        };
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void keepsTheHighestIdPerKeyAndWritesItOnce() {
        try (BatchingSyncPointWriter writer = new BatchingSyncPointWriter(flaky, Duration.ofHours(1))) {
            for (long id = 1; id <= 100; id++) {
                writer.advance("phone", ALICE, id);
            }
            writer.advance("phone", ALICE, 7); // a late, lower ack changes nothing
            writer.advance("tablet", BOB, 3);
            assertThat(store.get("phone", ALICE)).as("not written yet").isZero();
            assertThat(writer.get("phone", ALICE)).as("but read back as told").isEqualTo(100);

            writer.flush();
            assertThat(writes.get()).isEqualTo(2);
            assertThat(store.get("phone", ALICE)).isEqualTo(100);
            assertThat(store.get("tablet", BOB)).isEqualTo(3);
            assertThat(writer.pendingCount()).isZero();
        }
    }

    @Test
    void whatFailsIsWrittenAtALaterPass() {
        try (BatchingSyncPointWriter writer = new BatchingSyncPointWriter(flaky, Duration.ofMillis(50))) {
            storeDown.set(true);
            writer.advance("phone", ALICE, 5);
            writer.advance("phone", ALICE, 9);
            await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2))
                    .until(() -> writer.pendingCount() == 1);
            assertThat(store.get("phone", ALICE)).isZero();

            storeDown.set(false);
            await().atMost(Duration.ofSeconds(5)).until(() -> store.get("phone", ALICE) == 9);
            assertThat(writer.pendingCount()).isZero();
        }
    }

    @Test
    void closingWritesWhatIsPending() {
        BatchingSyncPointWriter writer = new BatchingSyncPointWriter(flaky, Duration.ofHours(1));
        writer.advance("phone", ALICE, 42);
        writer.close();
        assertThat(store.get("phone", ALICE)).isEqualTo(42);
    }
}
