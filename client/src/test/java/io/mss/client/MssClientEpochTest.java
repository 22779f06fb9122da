package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mss.client.internal.Inbox;
import io.mss.client.internal.ScopeKey;
import io.mss.client.internal.SyncPointStore;
import io.mss.client.internal.proto.Ack;
import io.mss.client.internal.proto.BizBatch;
import io.mss.client.internal.proto.Command;
import io.mss.client.internal.proto.CommandType;
import io.mss.client.internal.proto.Hello;
import io.mss.client.internal.proto.Oplog;
import io.mss.client.internal.proto.ScopeKind;
import io.mss.client.internal.proto.ServerFrame;
import io.mss.client.internal.proto.SyncData;
import io.mss.client.internal.proto.SyncPoint;
import io.mss.client.internal.proto.Welcome;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * Protocol version 2 seen through the client: epochs kept with sync points and inbox records,
 * FULL_UPDATE restarts, batches of another timeline, ephemeral batches, old state files and
 * version 1 servers. The scripted server sends literal frames, as a server following
 * docs/protocol.md would.
 */
class MssClientEpochTest extends ClientTestSupport {
    private static final long OLD_EPOCH = 7_315_000_001L;
    private static final long NEW_EPOCH = 2_208_000_002L;
    private static final ScopeKey NOTES = ScopeKey.device("notes");

    /** What the app saw, in the order it saw it: "epoch/id" per message, "full epoch restart" per FULL_UPDATE. */
    private final List<String> timeline = new CopyOnWriteArrayList<>();
    private final List<FullUpdate> fullUpdates = new CopyOnWriteArrayList<>();

    /** Records messages and FULL_UPDATEs on the timeline, then hands the message on. */
    private MessageCallback recording(MessageCallback then) {
        return new MessageCallback() {
            @Override
            public void onMessage(SyncMessage m) {
                received.add(m);
                timeline.add(m.epoch() + "/" + m.id());
                then.onMessage(m);
            }

            @Override
            public void onFullUpdate(FullUpdate update) {
                fullUpdates.add(update);
                timeline.add("full " + update.epoch() + " " + update.restart());
            }
        };
    }

    private static BizBatch.Builder batch(String bizType, ScopeKind scope, long epoch, long... ids) {
        BizBatch.Builder batch = BizBatch.newBuilder().setBizType(bizType).setScope(scope).setEpoch(epoch);
        for (long id : ids) {
            batch.addOplogs(Oplog.newBuilder().setId(id).setPayload(epoch + "-" + id).setCreatedAt(1_000 + id));
        }
        return batch;
    }

    private static ServerFrame frame(BizBatch.Builder batch) {
        return ServerFrame.newBuilder().setSyncData(SyncData.newBuilder().addBatches(batch)).build();
    }

    private static ServerFrame fullUpdate(String bizType, ScopeKind scope, long epoch, boolean restart) {
        return ServerFrame.newBuilder().setCommand(Command.newBuilder()
                .setType(CommandType.FULL_UPDATE).setBizType(bizType).setScope(scope)
                .setEpoch(epoch).setRestart(restart).setDetail("scripted")).build();
    }

    private static SyncPoint syncPoint(String bizType, ScopeKind scope, long id, long epoch) {
        return SyncPoint.newBuilder().setBizType(bizType).setScope(scope).setId(id).setEpoch(epoch).build();
    }

    private List<String> seen(Predicate<String> which) {
        return timeline.stream().filter(which).collect(Collectors.toList());
    }

    private long storedEpoch(ScopeKey key) throws IOException {
        return SyncPointStore.load(snapshot(stateDir)).epoch(key);
    }

    @Test
    void theEpochIsStoredWithTheSyncPointAndSentBackInHelloAndAckAfterTheClientRestarts() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(m -> { }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 1, 2)));
        assertThat(peer.nextAck().getSyncPointsList())
                .containsExactly(syncPoint("notes", ScopeKind.DEVICE, 2, OLD_EPOCH));
        assertThat(storedEpoch(NOTES)).isEqualTo(OLD_EPOCH);
        assertThat(peekInbox(stateDir).epoch(NOTES)).isEqualTo(OLD_EPOCH);
        await().atMost(WAIT).until(() -> received.size() == 1);
        assertThat(received.get(0).epoch()).isEqualTo(OLD_EPOCH);
        client.close();

        MssClient restarted = start(builder());
        restarted.registerBiz("notes", recording(restarted::reportMsgReceived));
        restarted.appToForeground();
        TestTlsServer.Peer again = server.accept();
        Hello hello = again.nextHello();
        assertThat(hello.getMinVersion()).isEqualTo(1);
        assertThat(hello.getMaxVersion()).isEqualTo(2);
        assertThat(hello.getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 2, OLD_EPOCH));
        again.send(welcome("s-2", null, 30_000));
        // a resend of 2 on the same timeline is dropped; 3 is new
        again.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 2, 3)));
        assertThat(again.nextAck().getSyncPointsList())
                .containsExactly(syncPoint("notes", ScopeKind.DEVICE, 3, OLD_EPOCH));
        await().atMost(WAIT).until(() -> seen(s -> s.endsWith("/3")).size() == 1);
        assertThat(seen(s -> true)).containsExactly(OLD_EPOCH + "/1", OLD_EPOCH + "/1", OLD_EPOCH + "/2",
                OLD_EPOCH + "/3");
    }

    @Test
    void aRestartDropsTheUndispatchedMessagesStopsTheOldRetryAndTakesTheNewTimelineFromOne() throws Exception {
        AtomicInteger oldAttempts = new AtomicInteger();
        CountDownLatch retried = new CountDownLatch(1);
        // 50 ms between attempts: after the second, the four left take 200 ms at least, room for the
        // restart to arrive before the last one would drop 31 and let 32 through
        MssClient client = start(builder().redeliveryBackoff(50, 50));
        client.registerBiz("notes", recording(m -> {
            if (m.epoch() == OLD_EPOCH && m.id() == 31) {
                // the old timeline's 31 fails every time: it is being retried when the restart comes
                if (oldAttempts.incrementAndGet() == 2) {
                    retried.countDown();
                }
                throw new IllegalStateException("scripted failure");
            }
            client.reportMsgReceived(m);
        }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 30, 31, 32, 33)));
        peer.nextAck();
        // at once, not at the next poll of an await: polling let the last attempts pass first
        assertThat(retried.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();

        peer.send(fullUpdate("notes", ScopeKind.DEVICE, NEW_EPOCH, true));
        // the new timeline's ids are far below the old sync point 33
        peer.send(frame(batch("notes", ScopeKind.DEVICE, NEW_EPOCH, 1, 2, 3, 4, 5)));
        assertThat(peer.nextAck().getSyncPointsList())
                .containsExactly(syncPoint("notes", ScopeKind.DEVICE, 5, NEW_EPOCH));
        await().atMost(WAIT).until(() -> seen(s -> s.startsWith(NEW_EPOCH + "/")).size() == 5);
        int attemptsAtSwitch = oldAttempts.get();
        // the old retry ran every 50 ms: 300 ms without one means it stopped
        await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> oldAttempts.get() == attemptsAtSwitch);

        int switchAt = timeline.indexOf("full " + NEW_EPOCH + " true");
        assertThat(switchAt).isNotNegative();
        assertThat(timeline.subList(switchAt + 1, timeline.size())).containsExactly(
                NEW_EPOCH + "/1", NEW_EPOCH + "/2", NEW_EPOCH + "/3", NEW_EPOCH + "/4", NEW_EPOCH + "/5");
        assertThat(seen(s -> s.equals(OLD_EPOCH + "/32") || s.equals(OLD_EPOCH + "/33"))).isEmpty();
        assertThat(fullUpdates).containsExactly(new FullUpdate("notes", Scope.DEVICE, NEW_EPOCH, true, "scripted"));

        await().atMost(WAIT).until(() -> peekInbox(stateDir).pendingCount() == 0);
        Inbox onDisk = peekInbox(stateDir);
        assertThat(onDisk.epoch(NOTES)).isEqualTo(NEW_EPOCH);
        assertThat(onDisk.high(NOTES)).isEqualTo(5);
        assertThat(storedSyncPoint(NOTES)).isEqualTo(5L);
        assertThat(storedEpoch(NOTES)).isEqualTo(NEW_EPOCH);
    }

    @Test
    void anOldTimelineMessageAlreadyQueuedForTheCallbackIsNeverDispatchedAfterTheRestart() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        MssClient client = start(builder());
        client.registerBiz("notes", recording(m -> {
            client.reportMsgReceived(m);
            if (m.epoch() == OLD_EPOCH && m.id() == 1) {
                // acked, so 2 is handed to the callback executor at once, behind this call
                try {
                    release.await(WAIT.getSeconds(), TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 1, 2, 3)));
        peer.nextAck();
        await().atMost(WAIT).until(() -> timeline.contains(OLD_EPOCH + "/1"));
        // 2 waits in the callback executor's queue once the state thread recorded its attempt
        await().atMost(WAIT).until(() -> peekInbox(stateDir).get(NOTES, 2) != null
                && peekInbox(stateDir).get(NOTES, 2).attempts() == 1);

        peer.send(fullUpdate("notes", ScopeKind.DEVICE, NEW_EPOCH, true));
        peer.send(frame(batch("notes", ScopeKind.DEVICE, NEW_EPOCH, 1, 2, 3)));
        // the Ack of the new timeline: the state thread has restarted the scope
        assertThat(peer.nextAck().getSyncPointsList())
                .containsExactly(syncPoint("notes", ScopeKind.DEVICE, 3, NEW_EPOCH));
        release.countDown();

        await().atMost(WAIT).until(() -> seen(s -> s.startsWith(NEW_EPOCH + "/")).size() == 3);
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> timeline.size() == 5);
        assertThat(timeline).containsExactly(OLD_EPOCH + "/1", "full " + NEW_EPOCH + " true",
                NEW_EPOCH + "/1", NEW_EPOCH + "/2", NEW_EPOCH + "/3");
    }

    @Test
    void aBatchOfAnotherEpochWithoutACommandIsTreatedAsARestart() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(m -> {
            if (m.id() != 11 || m.epoch() != OLD_EPOCH) {
                client.reportMsgReceived(m);
            }
        }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 10, 11, 12)));
        peer.nextAck();
        // 11 is with the app (never acked), 12 waits behind it
        await().atMost(WAIT).until(() -> timeline.contains(OLD_EPOCH + "/11"));

        peer.send(frame(batch("notes", ScopeKind.DEVICE, NEW_EPOCH, 1, 2)));
        assertThat(peer.nextAck().getSyncPointsList())
                .containsExactly(syncPoint("notes", ScopeKind.DEVICE, 2, NEW_EPOCH));
        await().atMost(WAIT).until(() -> seen(s -> s.startsWith(NEW_EPOCH + "/")).size() == 2);
        assertThat(timeline).containsExactly(OLD_EPOCH + "/10", OLD_EPOCH + "/11", "full " + NEW_EPOCH + " true",
                NEW_EPOCH + "/1", NEW_EPOCH + "/2");
        assertThat(fullUpdates.get(0).detail()).contains("epoch " + NEW_EPOCH).contains("epoch " + OLD_EPOCH);

        // a late ack of the old 11 must not remove anything of the new timeline
        client.reportMsgReceived(received.stream().filter(m -> m.epoch() == OLD_EPOCH && m.id() == 11)
                .findFirst().get());
        await().atMost(WAIT).until(() -> peekInbox(stateDir).pendingCount() == 0);
        assertThat(storedSyncPoint(NOTES)).isEqualTo(2L);
        assertThat(storedEpoch(NOTES)).isEqualTo(NEW_EPOCH);
    }

    @Test
    void aFullUpdateWithoutRestartIsAGapThatKeepsTheSyncPointAndTheInbox() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(m -> { }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 1, 2)));
        peer.nextAck();

        peer.send(fullUpdate("notes", ScopeKind.DEVICE, OLD_EPOCH, false));
        await().atMost(WAIT).until(() -> fullUpdates.size() == 1);
        assertThat(fullUpdates.get(0).restart()).isFalse();
        assertThat(storedSyncPoint(NOTES)).isEqualTo(2L);
        assertThat(storedEpoch(NOTES)).isEqualTo(OLD_EPOCH);
        assertThat(peekInbox(stateDir).pending(NOTES)).extracting(SyncMessage::id).containsExactly(1L, 2L);
        // ids continue above the sync point; a resend below it is still dropped
        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 2, 9)));
        assertThat(peer.nextAck().getSyncPointsList())
                .containsExactly(syncPoint("notes", ScopeKind.DEVICE, 9, OLD_EPOCH));
        assertThat(peekInbox(stateDir).pending(NOTES)).extracting(SyncMessage::id).containsExactly(1L, 2L, 9L);
    }

    @Test
    void aRestartForABizTypeWithoutCallbackStartsTheScopeOverAndIsToldOnRegistration() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(m -> { }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 40, 41)));
        peer.nextAck();
        await().atMost(WAIT).until(() -> timeline.contains(OLD_EPOCH + "/40"));
        client.unregisterBiz("notes");
        TestTlsServer.Peer second = connect(client, "s-2", null);
        second.send(fullUpdate("notes", ScopeKind.DEVICE, NEW_EPOCH, true));
        second.send(frame(batch("notes", ScopeKind.DEVICE, NEW_EPOCH, 1)));
        second.nextAck();

        client.registerBiz("notes", recording(client::reportMsgReceived));
        await().atMost(WAIT).until(() -> timeline.contains(NEW_EPOCH + "/1"));
        assertThat(timeline).containsExactly(OLD_EPOCH + "/40", "full " + NEW_EPOCH + " true", NEW_EPOCH + "/1");
    }

    @Test
    void anEphemeralBatchIsDispatchedInOrderButNeverStoredAckedOrUsedAsASyncPoint() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(client::reportMsgReceived));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 1, 2)));
        assertThat(peer.nextAck().getSyncPointsList())
                .containsExactly(syncPoint("notes", ScopeKind.DEVICE, 2, OLD_EPOCH));
        // the Ack goes out when they are stored, not when the app has them: wait for the app, so
        // that the ephemeral messages below come after them at the callback (which they race otherwise)
        await().atMost(WAIT).until(() -> received.size() == 2);

        // what a version 2 server sends for a non-persistent bizType: epoch 0, ids of no timeline
        peer.send(frame(batch("notes", ScopeKind.DEVICE, 0, 1_764_130_000_000_001L, 1_764_130_000_000_002L)
                .setEphemeral(true)));
        await().atMost(WAIT).until(() -> received.size() == 4);
        assertThat(received.subList(2, 4)).extracting(SyncMessage::id)
                .containsExactly(1_764_130_000_000_001L, 1_764_130_000_000_002L);
        assertThat(received.subList(2, 4)).allMatch(SyncMessage::ephemeral);
        // no Ack for them, although the app acked both
        await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> peer.pendingFrames() == 0);
        assertThat(storedSyncPoint(NOTES)).isEqualTo(2L);
        Inbox onDisk = peekInbox(stateDir);
        assertThat(onDisk.high(NOTES)).isEqualTo(2);

        // the durable timeline goes on at 3: the ephemeral ids moved nothing
        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 3)));
        assertThat(peer.nextAck().getSyncPointsList())
                .containsExactly(syncPoint("notes", ScopeKind.DEVICE, 3, OLD_EPOCH));
        await().atMost(WAIT).until(() -> received.size() == 5);
        client.close();

        MssClient restarted = start(builder());
        restarted.registerBiz("notes", recording(restarted::reportMsgReceived));
        restarted.appToForeground();
        Hello hello = server.accept().nextHello();
        assertThat(hello.getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 3, OLD_EPOCH));
        assertThat(received).hasSize(5);
    }

    @Test
    void stateFilesWrittenBeforeEpochsLoadAsEpochZeroAndTakeTheFirstEpochTheServerSends() throws Exception {
        // as a client of protocol version 1 left them: sync point 2, message 2 not yet acked by the app
        writeString(new File(stateDir, SyncPointStore.FILE_NAME), "#MSS client sync points\nDEVICE/notes/=2\n");
        writeOldInbox(new File(stateDir, Inbox.FILE_NAME), 1, 2);

        MssClient client = start(builder());
        client.registerBiz("notes", recording(client::reportMsgReceived));
        await().atMost(WAIT).until(() -> received.size() == 1);
        assertThat(received.get(0).id()).isEqualTo(2);
        assertThat(received.get(0).epoch()).isZero();
        assertThat(received.get(0).payload()).isEqualTo("old-2");

        client.appToForeground();
        TestTlsServer.Peer peer = server.accept();
        assertThat(peer.nextHello().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 2, 0));
        peer.send(welcome("s-1", null, 30_000));
        // epoch 0 takes the server's epoch: same timeline, so 2 is a resend and 3 is new
        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 2, 3)));
        assertThat(peer.nextAck().getSyncPointsList())
                .containsExactly(syncPoint("notes", ScopeKind.DEVICE, 3, OLD_EPOCH));
        await().atMost(WAIT).until(() -> received.size() == 2);
        assertThat(timeline).containsExactly("0/2", OLD_EPOCH + "/3");
        assertThat(fullUpdates).isEmpty();
        assertThat(storedEpoch(NOTES)).isEqualTo(OLD_EPOCH);
    }

    @Test
    void aVersionOneServerSeesNoEpochsAndItsBatchesAreNoRestart() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(client::reportMsgReceived));
        client.appToForeground();
        // first a version 2 server: the client learns an epoch
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(frame(batch("notes", ScopeKind.DEVICE, OLD_EPOCH, 1, 2)));
        peer.nextAck();
        await().atMost(WAIT).until(() -> received.size() == 2);
        peer.close();

        // then the server is rolled back to version 1: no epochs in its frames
        TestTlsServer.Peer v1 = server.accept();
        v1.nextHello();
        v1.send(welcomeV1("s-2"));
        await().atMost(WAIT).until(() -> events.contains("connected s-2"));
        v1.send(frame(batch("notes", ScopeKind.DEVICE, 0, 2, 3)));
        Ack ack = v1.nextAck();
        assertThat(ack.getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 3, 0));
        // a version 1 FULL_UPDATE has no restart: a signal, nothing dropped
        v1.send(ServerFrame.newBuilder().setCommand(Command.newBuilder().setType(CommandType.FULL_UPDATE)
                .setBizType("notes").setScope(ScopeKind.DEVICE).setEpoch(NEW_EPOCH).setRestart(true)).build());
        await().atMost(WAIT).until(() -> fullUpdates.size() == 1);
        assertThat(fullUpdates.get(0).restart()).isFalse();
        assertThat(fullUpdates.get(0).epoch()).isZero();
        v1.send(frame(batch("notes", ScopeKind.DEVICE, 0, 4)));
        assertThat(v1.nextAck().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 4, 0));
        await().atMost(WAIT).until(() -> received.size() == 4);
        assertThat(timeline).containsExactly(OLD_EPOCH + "/1", OLD_EPOCH + "/2", "0/3", "full 0 false", "0/4");
        // the epoch learnt from the version 2 server is kept for when it comes back
        assertThat(storedEpoch(NOTES)).isEqualTo(OLD_EPOCH);
    }

    private static ServerFrame welcomeV1(String sessionId) {
        return ServerFrame.newBuilder().setWelcome(Welcome.newBuilder()
                .setVersion(1)
                .setSessionId(sessionId)
                .setHeartbeatIntervalMs(30_000)
                .setDeviceId("dev-1")
                .setMaxFrameBytes(1 << 20)).build();
    }

    private static void writeString(File file, String text) throws IOException {
        try (FileOutputStream out = new FileOutputStream(file)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * An inbox in the format written before epochs: MSG records without the trailing epoch, a
     * DONE for {@code acked}, and the message {@code pending} still waiting for the app.
     */
    private static void writeOldInbox(File file, long acked, long pending) throws IOException {
        try (FileOutputStream out = new FileOutputStream(file)) {
            out.write("MSSINBX1".getBytes(StandardCharsets.US_ASCII));
            out.write(oldRecord(1, acked, "old-" + acked));
            out.write(oldRecord(3, acked, null));
            out.write(oldRecord(1, pending, "old-" + pending));
        }
    }

    /** u32 length, u32 crc32, body: u8 type, u8 scope DEVICE, str "notes", str "", u64 id, fields. */
    private static byte[] oldRecord(int type, long id, String payload) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream body = new DataOutputStream(bytes);
        body.writeByte(type);
        body.writeByte(2);
        writeStr(body, "notes");
        writeStr(body, "");
        body.writeLong(id);
        if (type == 1) {
            body.writeLong(1_000 + id);
            writeStr(body, "");
            writeStr(body, payload);
        } else {
            body.writeByte(0);
        }
        byte[] b = bytes.toByteArray();
        CRC32 crc = new CRC32();
        crc.update(b, 0, b.length);
        return ByteBuffer.allocate(8 + b.length).putInt(b.length).putInt((int) crc.getValue()).put(b).array();
    }

    private static void writeStr(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }
}
