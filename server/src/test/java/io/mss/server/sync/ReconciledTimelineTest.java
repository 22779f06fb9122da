package io.mss.server.sync;

import io.mss.protocol.v1.Command;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.ServerFrame;
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
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A session told by the reconciliation which timeline its scope's head is on
 * ({@link Session#timeline}): a fresh read of another timeline starts the cursor over; a read
 * that started before the cursor took its epoch is older news and changes nothing.
 */
class ReconciledTimelineTest {
    private static final Scope ALICE = Scope.user("ORDER", "alice");
    @TempDir
    Path dir;
    private RocksDbStore store;
    private SyncEngine engine;
    private EmbeddedChannel channel;
    private Session session;

    @BeforeEach
    void open() {
        store = RocksDbStore.open(dir.resolve("store"));
        engine = new SyncEngine(store, store, store, Clock.systemUTC(), 100, 1 << 20);
        store.put(BizType.of("ORDER", BizType.Range.APPOINTED, BizType.Target.USER));
        for (int i = 1; i <= 2; i++) {
            engine.push(new SyncEngine.Push("ORDER", "alice", "o" + i, null)).join();
        }
    }

    @AfterEach
    void close() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
        engine.close();
        store.close();
    }

    @Test
    void aReadThatStartedBeforeTheCursorTookItsEpochChangesNothing() {
        long staleReadStarted = System.nanoTime();
        connect();
        long epoch = store.head(ALICE).epoch();
        assertThat(caughtUp()).as("the catch-up, no FULL_UPDATE").noneMatch(ServerFrame::hasCommand);

        // a reconciliation pass that read the head before this session started, of another timeline
        session.timeline(ALICE, epoch + 1, staleReadStarted);
        channel.runPendingTasks();
        assertThat(outbound()).isEmpty();

        // the same news from a read that started after: the cursor starts over on it
        session.timeline(ALICE, epoch + 1, System.nanoTime());
        channel.runPendingTasks();
        List<ServerFrame> after = outbound();
        assertThat(after).isNotEmpty();
        Command restart = after.get(0).getCommand();
        assertThat(restart.getType()).isEqualTo(io.mss.protocol.v1.CommandType.FULL_UPDATE);
        assertThat(restart.getRestart()).isTrue();
        assertThat(restart.getEpoch()).isEqualTo(epoch + 1);
    }

    @Test
    void aReadOfTheTimelineTheCursorLeftChangesNothing() {
        connect();
        long epoch = store.head(ALICE).epoch();
        caughtUp();
        session.timeline(ALICE, epoch + 1, System.nanoTime());
        channel.runPendingTasks();
        assertThat(outbound()).anyMatch(ServerFrame::hasCommand);

        // a read of the old timeline, started after the switch but answered from before it
        session.timeline(ALICE, epoch, System.nanoTime());
        channel.runPendingTasks();
        assertThat(outbound()).noneMatch(ServerFrame::hasCommand);
    }

    private void connect() {
        Hello hello = Hello.newBuilder().setMinVersion(2).setMaxVersion(2).setDeviceId("phone")
                .addBizTypes("ORDER").build();
        channel = new EmbeddedChannel();
        session = engine.open(channel, new ClientToken("alice", "phone", Long.MAX_VALUE), hello, 2, new ArrayList<>());
        engine.start(session).join();
        channel.runPendingTasks();
    }

    private List<ServerFrame> caughtUp() {
        List<ServerFrame> frames = outbound();
        assertThat(frames).anyMatch(ServerFrame::hasSyncData);
        return frames;
    }

    private List<ServerFrame> outbound() {
        return OutboundFrames.take(channel);
    }
}
