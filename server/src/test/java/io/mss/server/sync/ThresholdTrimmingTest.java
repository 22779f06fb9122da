package io.mss.server.sync;

import io.mss.server.biz.BizType;
import io.mss.server.store.AppendRequest;
import io.mss.server.store.AppendResult;
import io.mss.server.store.Oplog;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

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
        return new OplogStore() {
            @Override
            public CompletableFuture<AppendResult> append(AppendRequest request) {
                return store.append(request);
            }

            @Override
            public void onCommit(Consumer<List<Oplog>> listener) {
                store.onCommit(listener);
            }

            @Override
            public List<Oplog> read(Scope scope, long afterId, int maxCount) {
                return store.read(scope, afterId, maxCount);
            }

            @Override
            public io.mss.server.store.ScopeHead head(Scope scope) {
                return store.head(scope);
            }

            @Override
            public void startNewTimelines() {
                store.startNewTimelines();
            }

            @Override
            public List<Scope> scopes(String bizType) {
                return store.scopes(bizType);
            }

            @Override
            public boolean hasData(String bizType) {
                return store.hasData(bizType);
            }

            @Override
            public void trim(Scope scope, long upToId) {
                if (trimFails.get()) {
                    failedTrims.incrementAndGet();
                    throw new StoreException("store unavailable");
                }
                store.trim(scope, upToId);
            }

            @Override
            public long purgeExpired(Scope scope, long now, long retentionMillis) {
                return store.purgeExpired(scope, now, retentionMillis);
            }

            @Override
            public void deleteData(String bizType) {
                store.deleteData(bizType);
            }

            @Override
            public void close() {
                store.close();
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
