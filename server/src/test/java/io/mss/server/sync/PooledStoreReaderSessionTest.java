package io.mss.server.sync;

import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import io.mss.server.auth.ClientToken;
import io.mss.server.biz.BizType;
import io.mss.server.store.Scope;
import io.mss.server.store.rocksdb.RocksDbStore;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A session whose store reads run on a pooled {@link StoreReader} (as on PostgreSQL): its reads
 * come back later, on its event loop, and what the client sends meanwhile must wait for them.
 * The channel is an {@link EmbeddedChannel}: the reader's answers queue on its loop, and the test
 * runs them with {@code runPendingTasks}.
 */
class PooledStoreReaderSessionTest {
    @TempDir
    Path dir;
    private RocksDbStore store;
    private SyncEngine engine;
    private final CountDownLatch readerHeld = new CountDownLatch(1);

    @BeforeEach
    void open() {
        store = RocksDbStore.open(dir.resolve("store"));
        engine = new SyncEngine(store, store, store, Clock.systemUTC(), 100, 1 << 20);
        // one reader thread, so that a read the test holds keeps the session's reads waiting behind it
        engine.useReader(StoreReader.pooled(1, 16));
        store.put(BizType.of("ORDER", BizType.Range.APPOINTED, BizType.Target.USER));
        for (int i = 1; i <= 3; i++) {
            engine.push(new SyncEngine.Push("ORDER", "alice", "o" + i, null)).join();
        }
    }

    @AfterEach
    void close() {
        readerHeld.countDown();
        engine.close();
        store.close();
    }

    /** Regression: an ack sent before the session had read its heads restarted the cursor (its epoch was still 0). */
    @Test
    void anAckBeforeTheHeadsAreInIsTakenOnTheirTimeline() {
        Scope scope = Scope.user("ORDER", "alice");
        long epoch = store.head(scope).epoch();
        SyncPoint two = SyncPoint.newBuilder().setBizType("ORDER").setScope(ScopeKind.USER).setEpoch(epoch).setId(2).build();
        Hello hello = Hello.newBuilder().setMinVersion(2).setMaxVersion(2).setDeviceId("phone")
                .addBizTypes("ORDER").addSyncPoints(two).build();
        EmbeddedChannel channel = new EmbeddedChannel();
        Session session = engine.open(channel, new ClientToken("alice", "phone", Long.MAX_VALUE), hello, 2,
                new ArrayList<>());

        // the reader's only thread is busy: the heads' read waits, and the client acks meanwhile
        holdTheReader();
        CompletableFuture<Void> started = engine.start(session);
        session.onAck(Ack.newBuilder().addSyncPoints(two).build());
        readerHeld.countDown();
        // the heads come in, then the drain's read ahead: both answer on the channel's loop
        List<ServerFrame> frames = new ArrayList<>();
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            channel.runPendingTasks();
            frames.addAll(OutboundFrames.take(channel));
            return frames.stream().anyMatch(ServerFrame::hasSyncData);
        });
        assertThat(started).isCompleted();
        assertThat(frames).as("no FULL_UPDATE: the ack is on the scope's timeline")
                .noneMatch(ServerFrame::hasCommand);
        assertThat(frames).as("the catch-up sends what is above the sync point")
                .anySatisfy(frame -> assertThat(frame.getSyncData().getBatches(0).getOplogs(0).getId()).isEqualTo(3));
        channel.finishAndReleaseAll();
    }

    private void holdTheReader() {
        CountDownLatch running = new CountDownLatch(1);
        engine.reader().read(new EmbeddedChannel().eventLoop(), () -> {
            running.countDown();
            return readerHeld.await(10, TimeUnit.SECONDS);
        });
        try {
            assertThat(running.await(5, TimeUnit.SECONDS)).as("the reader thread took the holding read").isTrue();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
