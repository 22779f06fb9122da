package io.mss.e2e;

import io.mss.protocol.v1.BizBatch;
import io.mss.protocol.v1.Command;
import io.mss.protocol.v1.CommandType;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import io.mss.server.config.ServerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Stream identity, frame by frame against a real server: a sync point is only ever resumed on
 * the timeline it came from. Whatever a device brings — a position from a wiped or replaced
 * store, from a bizType deleted and created again, an ack far above the head or of a made-up
 * epoch — it either gets every push in order, or FULL_UPDATE with {@code restart} and then
 * everything of the current timeline. Each store engine runs the same cases (a subclass says how
 * to run the server on it and how to wipe it).
 */
abstract class StreamIdentityContract {
    static final String ORDERS = "ORDERS";

    @TempDir
    Path tmp;
    TestServer server;

    /** Points the server at this engine. */
    abstract void configure(ServerConfig config);

    /** With the server stopped: the store as if deployed anew (empty), the secrets kept. */
    abstract void wipeStore() throws Exception;

    Path dataDir() {
        return tmp.resolve("data");
    }

    @BeforeEach
    void startServer() throws Exception {
        server = TestServer.start(dataDir(), this::configure);
        server.api.createBizType(ORDERS, "APPOINTED", "USER");
    }

    @AfterEach
    void stopServer() throws Exception {
        if (server != null) {
            server.close();
        }
        wipeStore();
    }

    RawDevice connect(String deviceId, String userId, int maxVersion, SyncPoint... points) throws Exception {
        return RawDevice.connect(server.syncPort(), server.certFile(), TestServer.token(deviceId, userId), deviceId,
                maxVersion, List.of(ORDERS), List.of(points));
    }

    static SyncPoint orders(long epoch, long id) {
        return RawDevice.point(ORDERS, ScopeKind.USER, epoch, id);
    }

    void push(int count, String prefix) {
        for (int i = 1; i <= count; i++) {
            assertThat(server.api.push(ORDERS, "alice", prefix + i, null).status()).isEqualTo(200);
        }
    }

    static long epochOf(List<ServerFrame> frames) {
        List<Long> epochs = RawDevice.batches(frames).stream().filter(b -> !b.getEphemeral())
                .map(BizBatch::getEpoch).distinct().toList();
        assertThat(epochs).as("one timeline in %s", frames).hasSize(1);
        return epochs.get(0);
    }

    static Command onlyRestart(List<ServerFrame> frames) {
        List<Command> commands = RawDevice.commands(frames);
        assertThat(commands).as("commands in %s", frames).hasSize(1);
        Command command = commands.get(0);
        assertThat(command.getType()).isEqualTo(CommandType.FULL_UPDATE);
        assertThat(command.getBizType()).isEqualTo(ORDERS);
        assertThat(command.getRestart()).isTrue();
        return command;
    }

    String metrics() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(server.api.baseUrl + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Connects alice's phone afresh, takes all {@code count} oplogs and acks them; returns their epoch. */
    long syncedPhone(int count) throws Exception {
        try (RawDevice phone = connect("phone", "alice", 2)) {
            List<ServerFrame> got = phone.catchUp();
            if (RawDevice.ids(got).size() < count) {
                got.addAll(phone.untilOplogs(count - RawDevice.ids(got).size()));
            }
            assertThat(RawDevice.ids(got)).hasSize(count);
            long epoch = epochOf(got);
            assertThat(epoch).isNotZero();
            phone.ack(ORDERS, ScopeKind.USER, epoch, count);
            // the ack is taken before the connection goes: one more push comes back live once it is
            return epoch;
        }
    }

    @Test
    void aPositionFromAWipedStoreIsToldFullUpdateAndGetsEveryNewPushOnce() throws Exception {
        push(5, "old ");
        long oldEpoch = syncedPhone(5);
        server.close();
        server = null;
        wipeStore();
        server = TestServer.start(dataDir(), this::configure);
        server.api.createBizType(ORDERS, "APPOINTED", "USER");
        push(3, "new ");

        try (EventLog events = new EventLog(); RawDevice phone = connect("phone", "alice", 2, orders(oldEpoch, 5))) {
            List<ServerFrame> got = phone.catchUp();
            Command restart = onlyRestart(got);
            long newEpoch = epochOf(got);
            assertThat(newEpoch).isNotZero().isNotEqualTo(oldEpoch);
            assertThat(restart.getEpoch()).isEqualTo(newEpoch);
            assertThat(got.indexOf(ServerFrame.newBuilder().setCommand(restart).build())).isZero();
            assertThat(RawDevice.oplogs(got)).extracting(o -> o.getId() + ":" + o.getPayload())
                    .containsExactly("1:new 1", "2:new 2", "3:new 3");
            assertThat(events.lines()).anyMatch(l -> l.startsWith("full-update") && l.contains("restart=true"));

            phone.ack(ORDERS, ScopeKind.USER, newEpoch, 3);
            push(1, "live ");
            assertThat(RawDevice.oplogs(phone.untilOplogs(1))).extracting(o -> o.getId() + ":" + o.getPayload())
                    .containsExactly("4:live 1");
        }
        assertThat(metrics()).contains("mss_full_updates_total{reason=\"epoch\"}");
    }

    @Test
    void aPositionWithoutEpochAboveTheHeadIsToldFullUpdate() throws Exception {
        push(5, "old ");
        syncedPhone(5);
        server.close();
        server = null;
        wipeStore();
        server = TestServer.start(dataDir(), this::configure);
        server.api.createBizType(ORDERS, "APPOINTED", "USER");
        push(3, "new ");
        // a version 1 client, or one that never learnt an epoch: its id is all the server can check
        try (RawDevice phone = connect("phone", "alice", 2, orders(0, 5))) {
            List<ServerFrame> got = phone.catchUp();
            onlyRestart(got);
            assertThat(RawDevice.ids(got)).containsExactly(1L, 2L, 3L);
        }
        assertThat(metrics()).contains("mss_full_updates_total{reason=\"above_head\"}");
    }

    @Test
    void aBizTypeDeletedWithItsDataAndCreatedAgainIsANewTimeline() throws Exception {
        push(5, "old ");
        long oldEpoch = syncedPhone(5);
        assertThat(server.api.call("DELETE", "/api/v1/biz-types/" + ORDERS + "?force=true", null).status())
                .isEqualTo(200);
        server.api.createBizType(ORDERS, "APPOINTED", "USER");
        push(2, "again ");

        try (RawDevice phone = connect("phone", "alice", 2, orders(oldEpoch, 5))) {
            List<ServerFrame> got = phone.catchUp();
            Command restart = onlyRestart(got);
            assertThat(restart.getEpoch()).isNotEqualTo(oldEpoch).isEqualTo(epochOf(got));
            // ids go on above every id handed out, on the new timeline
            assertThat(RawDevice.oplogs(got)).extracting(o -> o.getId() + ":" + o.getPayload())
                    .containsExactly("6:again 1", "7:again 2");
        }
        // the server's own sync point of the phone was from the old timeline too
        try (RawDevice phone = connect("phone", "alice", 2)) {
            List<ServerFrame> got = phone.catchUp();
            assertThat(RawDevice.ids(got)).containsExactly(6L, 7L);
        }
    }

    @Test
    void anAckFarAboveTheHeadOrOfAnotherEpochSkipsNothing() throws Exception {
        push(3, "m");
        try (RawDevice phone = connect("phone", "alice", 2)) {
            List<ServerFrame> got = phone.catchUp();
            long epoch = epochOf(got);
            assertThat(RawDevice.ids(got)).containsExactly(1L, 2L, 3L);

            phone.ack(ORDERS, ScopeKind.USER, epoch, 1_000_000);
            List<ServerFrame> again = phone.untilOplogs(3);
            assertThat(onlyRestart(again).getEpoch()).isEqualTo(epoch);
            assertThat(RawDevice.ids(again)).containsExactly(1L, 2L, 3L);

            phone.ack(ORDERS, ScopeKind.USER, epoch + 1, 2);
            List<ServerFrame> third = phone.untilOplogs(3);
            onlyRestart(third);
            assertThat(RawDevice.ids(third)).containsExactly(1L, 2L, 3L);
        }
        // nothing acked on the phone's timeline: the server's sync point of it never moved past what it got
        try (RawDevice phone = connect("phone", "alice", 2)) {
            assertThat(RawDevice.ids(phone.catchUp())).containsExactly(1L, 2L, 3L);
        }
    }

    @Test
    void aVersionOneClientStillSyncsAndItsAcksAreKeptWithinWhatWasSent() throws Exception {
        push(3, "m");
        try (RawDevice phone = connect("phone", "alice", 1)) {
            assertThat(phone.welcome.getVersion()).isEqualTo(1);
            assertThat(RawDevice.ids(phone.catchUp())).containsExactly(1L, 2L, 3L);
            phone.ack(ORDERS, ScopeKind.USER, 0, 2);
            // an ack above what was sent is clamped to it: 3
            phone.ack(ORDERS, ScopeKind.USER, 0, 1_000_000);
            phone.roundTrip();
            push(1, "live");
            assertThat(RawDevice.ids(phone.untilOplogs(1))).containsExactly(4L);
        }
        push(1, "later");
        // 4 was sent but never acked: it comes again
        try (RawDevice phone = connect("phone", "alice", 1)) {
            assertThat(RawDevice.ids(phone.catchUp())).containsExactly(4L, 5L);
        }
        try (RawDevice phone = connect("phone", "alice", 1, orders(0, 3))) {
            List<ServerFrame> got = phone.catchUp();
            assertThat(RawDevice.commands(got)).isEmpty();
            assertThat(RawDevice.ids(got)).containsExactly(4L, 5L);
        }
    }

    @Test
    void switchingPersistentEitherWayKeepsDeliveringDurablePushesInOrder() throws Exception {
        assertThat(server.api.call("PUT", "/api/v1/biz-types/" + ORDERS, "{\"persistent\":false}").status())
                .isEqualTo(200);
        try (RawDevice phone = connect("phone", "alice", 2)) {
            assertThat(RawDevice.oplogs(phone.catchUp())).isEmpty();
            push(1, "ephemeral ");
            BizBatch ephemeral = RawDevice.batches(List.of(phone.next())).get(0);
            assertThat(ephemeral.getEphemeral()).isTrue();
            assertThat(ephemeral.getEpoch()).isZero();
            assertThat(ephemeral.getOplogs(0).getPayload()).isEqualTo("ephemeral 1");

            assertThat(server.api.call("PUT", "/api/v1/biz-types/" + ORDERS, "{\"persistent\":true}").status())
                    .isEqualTo(200);
            push(2, "durable ");
            List<ServerFrame> durable = phone.untilOplogs(2);
            assertThat(RawDevice.oplogs(durable)).extracting(o -> o.getId() + ":" + o.getPayload())
                    .containsExactly("1:durable 1", "2:durable 2");
            long epoch = epochOf(durable);
            phone.ack(ORDERS, ScopeKind.USER, epoch, 2);

            assertThat(server.api.call("PUT", "/api/v1/biz-types/" + ORDERS, "{\"persistent\":false}").status())
                    .isEqualTo(200);
            push(1, "ephemeral again ");
            assertThat(RawDevice.batches(List.of(phone.next())).get(0).getEphemeral()).isTrue();
            assertThat(server.api.call("PUT", "/api/v1/biz-types/" + ORDERS, "{\"persistent\":true}").status())
                    .isEqualTo(200);
            push(1, "durable again ");
            assertThat(RawDevice.oplogs(phone.untilOplogs(1))).extracting(o -> o.getId() + ":" + o.getPayload())
                    .containsExactly("3:durable again 1");
        }
        // a reconnecting device resumes where the durable ones are
        push(1, "offline ");
        try (RawDevice phone = connect("phone", "alice", 2)) {
            List<ServerFrame> got = phone.catchUp();
            assertThat(RawDevice.commands(got)).isEmpty();
            assertThat(RawDevice.ids(got)).containsExactly(3L, 4L);
        }
    }

    @Test
    void thresholdTrimmingIsToldFullUpdateOnTheSameTimeline() throws Exception {
        server.api.call("PUT", "/api/v1/biz-types/" + ORDERS, "{\"rePushMode\":\"THRESHOLD\",\"rePushThreshold\":3}");
        push(10, "m");
        try (RawDevice phone = connect("phone", "alice", 2)) {
            List<ServerFrame> got = phone.catchUp();
            List<Command> commands = RawDevice.commands(got);
            assertThat(commands).hasSize(1);
            assertThat(commands.get(0).getRestart()).isFalse();
            assertThat(commands.get(0).getEpoch()).isEqualTo(epochOf(got));
            assertThat(RawDevice.ids(got)).containsExactly(8L, 9L, 10L);
        }
    }
}
