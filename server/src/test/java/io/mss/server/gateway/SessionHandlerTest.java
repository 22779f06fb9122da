package io.mss.server.gateway;

import io.mss.protocol.Frames;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.BizBatch;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import io.mss.protocol.v1.UpstreamMessage;
import io.mss.server.store.DeliveryFilter;
import io.mss.server.store.Scope;
import io.mss.server.store.SyncPointStore;
import io.mss.server.sync.StoreReader;
import io.mss.server.sync.SyncEngine;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static io.mss.server.gateway.EmbeddedGateway.hex;
import static io.mss.server.gateway.EmbeddedGateway.received;
import static io.mss.server.gateway.EmbeddedGateway.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** An established session, frame by frame: backlog after Welcome, acks, pings, upstream, idleness. */
class SessionHandlerTest {
    @TempDir
    Path dir;
    private EmbeddedGateway gateway;
    private EmbeddedChannel channel;

    @BeforeEach
    void start() {
        gateway = new EmbeddedGateway(dir);
    }

    @AfterEach
    void close() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
        gateway.close();
    }

    /** Connects phone-1 of alice for CHAT and answers everything the server sent after the Welcome. */
    private List<ServerFrame> connect(SyncPoint... syncPoints) {
        channel = gateway.connect();
        send(channel, Frames.encode(ClientFrame.newBuilder().setHello(Hello.newBuilder().setMinVersion(1)
                .setMaxVersion(2).setToken(gateway.token("phone-1", "alice")).setDeviceId("phone-1")
                .addBizTypes("CHAT").addAllSyncPoints(List.of(syncPoints))).build()));
        List<ServerFrame> frames = received(channel);
        assertThat(frames.get(0).getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
        return frames.subList(1, frames.size());
    }

    private void push(String payload) {
        gateway.engine.push(new SyncEngine.Push("CHAT", "alice", payload, null)).join();
    }

    @Test
    void aPingFromLiteralBytesIsAnsweredWithItsTimestamp() {
        connect();
        // Ping (field 3) with timestamp 7
        send(channel, hex("04 1A 02 08 07"));

        List<ServerFrame> frames = received(channel);
        assertThat(frames).extracting(ServerFrame::getKindCase).containsExactly(ServerFrame.KindCase.PONG);
        assertThat(frames.get(0).getPong().getTimestamp()).isEqualTo(7);
    }

    @Test
    void theBacklogFollowsTheWelcomeInOrderAndAnAckMovesTheSyncPoint() {
        push("one");
        push("two");
        push("three");

        List<ServerFrame> frames = connect();

        assertThat(frames).extracting(ServerFrame::getKindCase).containsExactly(ServerFrame.KindCase.SYNC_DATA);
        BizBatch batch = frames.get(0).getSyncData().getBatches(0);
        assertThat(batch.getBizType()).isEqualTo("CHAT");
        assertThat(batch.getScope()).isEqualTo(ScopeKind.USER);
        assertThat(batch.getEpoch()).isNotZero();
        assertThat(batch.getOplogsList()).extracting(o -> o.getPayload()).containsExactly("one", "two", "three");
        assertThat(frames.get(0).getSyncData().getHasMore()).isFalse();

        send(channel, Frames.encode(ClientFrame.newBuilder().setAck(Ack.newBuilder().addSyncPoints(SyncPoint
                .newBuilder().setBizType("CHAT").setScope(ScopeKind.USER).setId(3).setEpoch(batch.getEpoch()))).build()));

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                gateway.engine.deliveryStatus(Scope.user("CHAT", "alice")))
                .extracting(SyncPointStore.DeviceSyncPoint::deviceId, SyncPointStore.DeviceSyncPoint::syncPoint)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("phone-1", 3L)));
        assertThat(received(channel)).as("an ack is not answered").isEmpty();
    }

    @Test
    void aBacklogOverTwoBizTypesSharesEveryCatchUpFrame() {
        gateway.close();
        gateway = new EmbeddedGateway(dir.resolve("small-frames"), 4);
        for (int i = 1; i <= 6; i++) {
            gateway.engine.push(new SyncEngine.Push("CHAT", "alice", "chat-" + i, null)).join();
            gateway.engine.push(new SyncEngine.Push("MAIL", "alice", "mail-" + i, null)).join();
        }

        channel = gateway.connect();
        send(channel, Frames.encode(ClientFrame.newBuilder().setHello(Hello.newBuilder().setMinVersion(1)
                .setMaxVersion(2).setToken(gateway.token("phone-1", "alice")).setDeviceId("phone-1")
                .addBizTypes("CHAT").addBizTypes("MAIL")).build()));
        List<ServerFrame> frames = received(channel);

        assertThat(frames.get(0).getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
        // frames of 4: each lagging bizType gets 2 of every frame, not the first one all 4
        List<String> first = frames.get(1).getSyncData().getBatchesList().stream()
                .flatMap(b -> b.getOplogsList().stream().map(o -> o.getPayload())).toList();
        assertThat(first).containsExactly("chat-1", "chat-2", "mail-1", "mail-2");
        assertThat(frames.subList(1, frames.size())).allSatisfy(f -> assertThat(f.getSyncData().getBatchesCount())
                .as("both bizTypes in every frame").isEqualTo(2));
        assertThat(frames.subList(1, frames.size())).extracting(f -> f.getSyncData().getHasMore())
                .containsExactly(true, true, false);
    }

    @Test
    void aRowNoWriterAnnouncedIsNotDeliveredAndItsIdGoesToTheNextPush() {
        gateway.close();
        UnannouncedRowView[] view = new UnannouncedRowView[1];
        gateway = new EmbeddedGateway(dir.resolve("unannounced"), 500, oplogs -> view[0] = new UnannouncedRowView(oplogs));
        push("one");
        push("two");
        view[0].showRow = true;

        List<ServerFrame> catchUp = connect();
        push("three");
        gateway.awaitDispatched(3);
        List<ServerFrame> live = received(channel);

        assertThat(catchUp).hasSize(1);
        assertThat(catchUp.get(0).getSyncData().getBatches(0).getOplogsList())
                .extracting(o -> o.getId() + ":" + o.getPayload()).containsExactly("1:one", "2:two");
        assertThat(live).hasSize(1);
        assertThat(live.get(0).getSyncData().getBatches(0).getOplogsList())
                .extracting(o -> o.getId() + ":" + o.getPayload()).containsExactly("3:three");
    }

    @Test
    void aRowNoWriterAnnouncedIsNotTakenFromTheReadAheadOnceItsIdIsAnnounced() throws Exception {
        gateway.close();
        UnannouncedRowView[] view = new UnannouncedRowView[1];
        gateway = new EmbeddedGateway(dir.resolve("unannounced-pooled"), 500,
                oplogs -> view[0] = new UnannouncedRowView(oplogs));
        // reads on a pool, as on PostgreSQL: what a read returned is kept for the next drains
        gateway.engine.useReader(StoreReader.pooled(1, 16));
        DefaultEventLoop markers = new DefaultEventLoop();
        try {
            push("one");
            push("two");
            view[0].showRow = true;
            channel = gateway.connect();
            send(channel, Frames.encode(ClientFrame.newBuilder().setHello(Hello.newBuilder().setMinVersion(1)
                    .setMaxVersion(2).setToken(gateway.token("phone-1", "alice")).setDeviceId("phone-1")
                    .addBizTypes("CHAT")).build()));
            List<ServerFrame> frames = new ArrayList<>(runReads(markers));
            view[0].showRow = false;

            // id 3 again, on the promoted standby, for iPhones only: not live here, so the session's
            // drain takes it, and must read it anew rather than take the row it saw before
            gateway.engine.push(new SyncEngine.Push("CHAT", "alice", "three", null, 0, 0,
                    new DeliveryFilter(Set.of("ios"), null, null, Set.of(), null, null))).join();
            gateway.awaitDispatched(3);
            frames.addAll(runReads(markers));
            push("four");
            gateway.awaitDispatched(4);
            frames.addAll(runReads(markers));

            assertThat(frames).filteredOn(f -> f.getKindCase() == ServerFrame.KindCase.SYNC_DATA)
                    .flatMap(f -> f.getSyncData().getBatchesList()).flatMap(BizBatch::getOplogsList)
                    .extracting(o -> o.getId() + ":" + o.getPayload()).containsExactly("1:one", "2:two", "4:four");
        } finally {
            markers.shutdownGracefully();
        }
    }

    /**
     * Runs on the test's thread what the pooled reader answered, round by round: a marker read,
     * answered on another loop, shows that the reader's one thread posted everything before it.
     */
    private List<ServerFrame> runReads(DefaultEventLoop markers) throws Exception {
        List<ServerFrame> frames = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            gateway.engine.reader().read(markers, () -> null).get(10, TimeUnit.SECONDS);
            frames.addAll(received(channel));
        }
        return frames;
    }

    @Test
    void aClientThatStoredEverythingIsToldItIsUpToDate() {
        push("one");
        List<ServerFrame> first = connect();
        long epoch = first.get(0).getSyncData().getBatches(0).getEpoch();
        channel.finishAndReleaseAll();

        List<ServerFrame> again = connect(SyncPoint.newBuilder().setBizType("CHAT").setScope(ScopeKind.USER)
                .setId(1).setEpoch(epoch).build());

        // the last catch-up frame is sent even when empty: the client learns it is up to date
        assertThat(again).extracting(ServerFrame::getKindCase).containsExactly(ServerFrame.KindCase.SYNC_DATA);
        assertThat(again.get(0).getSyncData().getBatchesCount()).isZero();
        assertThat(again.get(0).getSyncData().getHasMore()).isFalse();
    }

    @Test
    void aSecondHelloIsRefused() {
        connect();
        send(channel, Frames.encode(ClientFrame.newBuilder().setHello(Hello.newBuilder().setMinVersion(1)
                .setMaxVersion(2).setToken(gateway.token("phone-1", "alice"))).build()));

        List<ServerFrame> frames = received(channel);
        assertThat(frames).extracting(f -> f.getError().getCode()).containsExactly(ErrorCode.BAD_FRAME);
        assertThat(channel.isOpen()).isFalse();
        assertThat(gateway.engine.sessionCount()).isZero();
    }

    @Test
    void anUpstreamMessageForABizTypeWithoutWebhookIsAnsweredNotPunished() {
        connect();
        send(channel, Frames.encode(ClientFrame.newBuilder().setUpstream(UpstreamMessage.newBuilder()
                .setClientMsgId("m-1").setBizType("CHAT").setPayload("hi")).build()));

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            List<ServerFrame> frames = received(channel);
            assertThat(frames).extracting(ServerFrame::getKindCase).containsExactly(ServerFrame.KindCase.UPSTREAM_RESULT);
            assertThat(frames.get(0).getUpstreamResult().getClientMsgId()).isEqualTo("m-1");
            assertThat(frames.get(0).getUpstreamResult().getSuccess()).isFalse();
            assertThat(frames.get(0).getUpstreamResult().getCode()).isNotBlank();
        });
        assertThat(channel.isOpen()).isTrue();
    }

    @Test
    void aSilentClientIsClosedAfterTwoAndAHalfHeartbeats() {
        connect();
        long idleMillis = gateway.config.heartbeatSeconds * 2500L;
        channel.advanceTimeBy(idleMillis - 1_000, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).isTrue();

        channel.advanceTimeBy(2_000, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();

        List<ServerFrame> frames = received(channel);
        assertThat(frames).extracting(f -> f.getError().getCode()).containsExactly(ErrorCode.IDLE_TIMEOUT);
        assertThat(frames.get(0).getError().getRetry()).isTrue();
        assertThat(channel.isOpen()).isFalse();
        assertThat(gateway.engine.sessionCount()).isZero();
    }
}
