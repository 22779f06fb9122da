package io.mss.e2e;

import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A malicious app user with a valid token for their own device cannot read anyone else's data
 * by forging what the protocol lets a client say: sync points, acks, device and user ids.
 */
class ForgedIdentityTest {
    @TempDir
    static Path tmp;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"));
        server.api.createBizType("ORDER", "APPOINTED", "USER");
        server.api.createBizType("DEV", "APPOINTED", "DEVICE");
        for (int i = 1; i <= 3; i++) {
            server.api.push("ORDER", "alice", "alice-order-" + i, null);
            server.api.push("DEV", "alice-phone", "alice-phone-" + i, null);
        }
        for (int i = 1; i <= 2; i++) {
            server.api.push("ORDER", "bob", "bob-order-" + i, null);
        }
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Hello.Builder hello(String token, String device) {
        return Hello.newBuilder().setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                .setToken(token).setDeviceId(device).addBizTypes("ORDER").addBizTypes("DEV");
    }

    private static ClientFrame frame(Hello.Builder hello) {
        return ClientFrame.newBuilder().setHello(hello).build();
    }

    /** Welcome, then every payload of the catch-up. */
    private static List<String> catchUp(RawConnection c) throws Exception {
        ServerFrame welcome = c.read();
        assertThat(welcome.getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
        List<String> payloads = new ArrayList<>();
        ServerFrame frame;
        do {
            frame = c.read();
            assertThat(frame.getKindCase()).isEqualTo(ServerFrame.KindCase.SYNC_DATA);
            frame.getSyncData().getBatchesList().forEach(b -> b.getOplogsList().stream()
                    .map(o -> o.getPayload()).forEach(payloads::add));
        } while (frame.getSyncData().getHasMore());
        return payloads;
    }

    @Test
    void syncPointZeroForEveryBizTypeStillReadsOnlyTheTokensOwnScopes() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            // bob asks for "everything from 0" in a USER and a DEVICE bizType where alice has data
            c.send(frame(hello(TestServer.token("bob-phone", "bob"), "bob-phone")
                    .addSyncPoints(SyncPoint.newBuilder().setBizType("ORDER").setScope(ScopeKind.USER).setId(0))
                    .addSyncPoints(SyncPoint.newBuilder().setBizType("DEV").setScope(ScopeKind.DEVICE).setId(0))));
            assertThat(catchUp(c)).containsExactly("bob-order-1", "bob-order-2");
        }
    }

    @Test
    void aHelloNamingAnotherUserThanTheTokenIsRefused() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(frame(hello(TestServer.token("bob-phone", "bob"), "bob-phone").setUserId("alice")));
            assertRefused(c, ErrorCode.USER_SESSION_INVALID);
        }
    }

    @Test
    void aTokenForDeviceAUsedWithHelloDeviceIdBIsRefused() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            // bob's own token, claiming alice's phone to read its DEVICE scope
            c.send(frame(hello(TestServer.token("bob-phone", "bob"), "alice-phone")));
            assertRefused(c, ErrorCode.DEVICE_MISMATCH);
        }
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            // an anonymous token (no user) for one device, claiming another
            c.send(frame(hello(TestServer.token("some-tablet", null), "alice-phone")));
            assertRefused(c, ErrorCode.DEVICE_MISMATCH);
        }
    }

    @Test
    void anAckBeyondWhatWasSentDoesNotSkipDataForThatDevice() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(frame(hello(TestServer.token("carol-phone", "carol"), "carol-phone")));
            assertThat(catchUp(c)).isEmpty();
            // carol claims she stored oplogs she was never sent
            c.send(ClientFrame.newBuilder().setAck(Ack.newBuilder()
                    .addSyncPoints(SyncPoint.newBuilder().setBizType("ORDER").setScope(ScopeKind.USER).setId(1_000))
                    .addSyncPoints(SyncPoint.newBuilder().setBizType("DEV").setScope(ScopeKind.DEVICE).setId(1_000)))
                    .build());
            c.send(ClientFrame.newBuilder().setPing(io.mss.protocol.v1.Ping.newBuilder().setTimestamp(1)).build());
            // acks above the head on protocol version 2: FULL_UPDATE with restart, one per scope
            java.util.List<String> restarted = new java.util.ArrayList<>();
            ServerFrame frame;
            while ((frame = c.read()).hasCommand() || frame.hasSyncData()) {
                if (frame.hasCommand()) {
                    assertThat(frame.getCommand().getRestart()).isTrue();
                    restarted.add(frame.getCommand().getBizType());
                }
            }
            assertThat(frame.getKindCase()).isEqualTo(ServerFrame.KindCase.PONG); // the ack was processed
            assertThat(restarted).containsExactlyInAnyOrder("ORDER", "DEV");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> server.server.engine().sessionCount() == 0);
        for (int i = 1; i <= 3; i++) {
            server.api.push("ORDER", "carol", "carol-order-" + i, null);
            server.api.push("DEV", "carol-phone", "carol-phone-" + i, null);
        }
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(frame(hello(TestServer.token("carol-phone", "carol"), "carol-phone")));
            assertThat(catchUp(c)).containsExactlyInAnyOrder("carol-order-1", "carol-order-2", "carol-order-3",
                    "carol-phone-1", "carol-phone-2", "carol-phone-3");
        }
    }

    @Test
    void anAckForAnotherUsersBizTypeScopeDoesNotMoveTheirSyncPoint() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(frame(hello(TestServer.token("mallory-phone", "mallory"), "mallory-phone")));
            assertThat(catchUp(c)).isEmpty();
            // acks name a bizType and a scope kind, never an owner: the session's own scope is meant
            c.send(ClientFrame.newBuilder().setAck(Ack.newBuilder()
                    .addSyncPoints(SyncPoint.newBuilder().setBizType("ORDER").setScope(ScopeKind.USER).setId(3)))
                    .build());
        }
        // alice's new phone still gets all of alice's data
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(frame(hello(TestServer.token("alice-tablet", "alice"), "alice-tablet")));
            assertThat(catchUp(c)).containsExactly("alice-order-1", "alice-order-2", "alice-order-3");
        }
    }

    private static void assertRefused(RawConnection c, ErrorCode code) throws Exception {
        ServerFrame frame = c.read();
        assertThat(frame.getKindCase()).isEqualTo(ServerFrame.KindCase.ERROR);
        assertThat(frame.getError().getCode()).isEqualTo(code);
        assertThat(c.closedByServer()).isTrue();
    }
}
