package io.mss.server.sync;

import io.mss.server.biz.BizType;
import io.mss.server.store.ForwardingOplogStore;
import io.mss.server.store.OplogStore;
import io.mss.server.store.Scope;
import io.mss.server.store.StoreException;
import io.mss.server.store.rocksdb.RocksDbStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** THRESHOLD trimming goes on after the store failed it: the maintenance schedule survives errors. */
class ThresholdTrimmingTest {
    private static final Scope ALICE = Scope.user("CHAT", "alice");

    @TempDir
    Path dir;
    private RocksDbStore rocks;
    private SyncEngine engine;
    private final AtomicBoolean trimFails = new AtomicBoolean(true);
    private final AtomicInteger failedTrims = new AtomicInteger();

    /** The real store, whose trimming fails while {@link #trimFails} is set (a database away). */
    private OplogStore flakyTrim(OplogStore store) {
        return new ForwardingOplogStore(store) {
            @Override
            public void trim(Scope scope, long upToId) {
                if (trimFails.get()) {
                    failedTrims.incrementAndGet();
                    throw new StoreException("store unavailable");
                }
                store.trim(scope, upToId);
            }
        };
    }

    @BeforeEach
    void open() {
        rocks = RocksDbStore.open(dir.resolve("store"));
        engine = new SyncEngine(flakyTrim(rocks), rocks, rocks, Clock.systemUTC(), 100, 1 << 20);
        rocks.put(new BizType("CHAT", "", BizType.Range.APPOINTED, BizType.Target.USER, true, true, 30,
                BizType.RePushMode.THRESHOLD, 5, BizType.Status.ONLINE, null, null));
    }

    @AfterEach
    void close() {
        engine.close();
        rocks.close();
    }

    @Test
    void aFailedTrimIsTriedAgainAndLaterTrimsStillHappen() {
        for (int i = 0; i < 20; i++) {
            engine.push(new SyncEngine.Push("CHAT", "alice", "message " + i, null)).join();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> failedTrims.get() >= 2);
        assertThat(rocks.read(ALICE, 0, 100)).hasSize(20);

        trimFails.set(false);
        await().atMost(Duration.ofSeconds(10)).until(() -> rocks.read(ALICE, 0, 100).size() == 5);
        assertThat(rocks.read(ALICE, 0, 100).get(0).id()).isEqualTo(16);
    }
}
