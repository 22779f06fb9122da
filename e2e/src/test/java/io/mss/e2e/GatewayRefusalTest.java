package io.mss.e2e;

import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Ping;
import io.mss.protocol.v1.ServerFrame;
import io.mss.server.auth.TokenVerifier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Clients that get it wrong get an error frame and a close, and the server keeps serving
 * everyone else. Each case ends by checking that a well-behaved client still connects.
 */
class GatewayRefusalTest {
    @TempDir
    static Path tmp;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"), c -> c.maxFrameBytes = 64 * 1024);
        server.api.createBizType("ORDER", "APPOINTED", "USER");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static ClientFrame hello(String token, String deviceId) {
        return ClientFrame.newBuilder().setHello(Hello.newBuilder()
                .setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                .setToken(token).setDeviceId(deviceId).addBizTypes("ORDER")).build();
    }

    private static void assertRefused(ClientFrame first, ErrorCode code, boolean retry) throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(first);
            assertErrorThenClose(c, code, retry);
        }
        assertAGoodClientStillConnects();
    }

    private static void assertErrorThenClose(RawConnection c, ErrorCode code, boolean retry) throws Exception {
        ServerFrame frame = c.read();
        assertThat(frame).isNotNull();
        assertThat(frame.getKindCase()).isEqualTo(ServerFrame.KindCase.ERROR);
        assertThat(frame.getError().getCode()).isEqualTo(code);
        assertThat(frame.getError().getMessage()).isNotBlank();
        assertThat(frame.getError().getRetry()).isEqualTo(retry);
        assertThat(c.closedByServer()).isTrue();
    }

    static void assertAGoodClientStillConnects() throws Exception {
        assertAGoodClientStillConnects(server);
    }

    static void assertAGoodClientStillConnects(TestServer server) throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(hello(TestServer.token("good-device", "good-user"), "good-device"));
            ServerFrame welcome = c.read();
            assertThat(welcome.getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
            assertThat(welcome.getWelcome().getUserId()).isEqualTo("good-user");
            // the catch-up ends with a SyncData whose hasMore is false
            ServerFrame caughtUp = c.read();
            while (caughtUp.getSyncData().getHasMore()) {
                caughtUp = c.read();
            }
            c.send(ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(5)).build());
            assertThat(c.read().getPong().getTimestamp()).isEqualTo(5);
        }
    }

    @Test
    void tokenSignedWithAnotherSecretIsRefused() throws Exception {
        String forged = new TokenVerifier("another-secret-another-secret-another-secret", Clock.systemUTC())
                .mint("d1", "victim", 3600);
        assertRefused(hello(forged, "d1"), ErrorCode.INVALID_TOKEN, false);
    }

    @Test
    void garbageTokenIsRefused() throws Exception {
        assertRefused(hello("not-a-jwt", "d1"), ErrorCode.INVALID_TOKEN, false);
    }

    @Test
    void expiredTokenIsRefusedAsRetryable() throws Exception {
        Clock anHourAgo = Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC);
        String expired = new TokenVerifier(TestServer.TOKEN_SECRET, anHourAgo).mint("d1", "u1", 60);
        assertRefused(hello(expired, "d1"), ErrorCode.TOKEN_EXPIRED, true);
    }

    @Test
    void helloForAnotherDeviceThanTheTokenIsRefused() throws Exception {
        assertRefused(hello(TestServer.token("d1", "u1"), "someone-elses-device"), ErrorCode.DEVICE_MISMATCH, false);
    }

    @Test
    void aFrameBeforeHelloIsRefused() throws Exception {
        assertRefused(ClientFrame.newBuilder().setPing(Ping.getDefaultInstance()).build(),
                ErrorCode.HANDSHAKE_REQUIRED, false);
    }

    @Test
    void unsupportedVersionIsRefused() throws Exception {
        ClientFrame future = ClientFrame.newBuilder().setHello(hello(TestServer.token("d1", "u1"), "d1").getHello()
                .toBuilder().setMinVersion(ProtocolVersion.MAX + 1).setMaxVersion(ProtocolVersion.MAX + 5)).build();
        assertRefused(future, ErrorCode.UNSUPPORTED_VERSION, false);
    }

    @Test
    void oversizedFrameIsRefused() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            // announces 1 MiB against a 64 KiB cap; the body never needs to arrive
            c.sendRaw(new byte[]{(byte) 0x80, (byte) 0x80, 0x40});
            assertErrorThenClose(c, ErrorCode.FRAME_TOO_LARGE, false);
        }
        assertAGoodClientStillConnects();
    }

    @Test
    void garbageBytesAreRefused() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.sendRaw(new byte[]{0x03, 0x0F, 0x01, 0x02});
            assertErrorThenClose(c, ErrorCode.BAD_FRAME, false);
        }
        assertAGoodClientStillConnects();
    }

    @Test
    void aSecondHelloInASessionIsRefused() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(hello(TestServer.token("d2", "u2"), "d2"));
            assertThat(c.read().getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
            assertThat(c.read().getKindCase()).isEqualTo(ServerFrame.KindCase.SYNC_DATA);
            c.send(hello(TestServer.token("d2", "someone-else"), "d2"));
            assertErrorThenClose(c, ErrorCode.BAD_FRAME, false);
        }
        assertAGoodClientStillConnects();
    }
}
