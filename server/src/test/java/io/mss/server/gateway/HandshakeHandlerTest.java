package io.mss.server.gateway;

import io.mss.protocol.Frames;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.Welcome;
import io.mss.server.auth.TokenVerifier;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.mss.server.gateway.EmbeddedGateway.hex;
import static io.mss.server.gateway.EmbeddedGateway.received;
import static io.mss.server.gateway.EmbeddedGateway.send;
import static org.assertj.core.api.Assertions.assertThat;

/** The handshake, frame by frame, on the gateway's real pipeline: only a valid Hello opens a session. */
class HandshakeHandlerTest {
    /** A Ping (field 3) with timestamp 7: length 4 | tag 0x1A, length 2 | tag 0x08, varint 7. */
    private static final String PING = "04 1A 02 08 07";

    @TempDir
    Path dir;
    private EmbeddedGateway gateway;
    private EmbeddedChannel channel;

    @BeforeEach
    void connect() {
        gateway = new EmbeddedGateway(dir);
        channel = gateway.connect();
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
        gateway.close();
    }

    private Hello.Builder hello(String token) {
        return Hello.newBuilder().setMinVersion(1).setMaxVersion(2).setToken(token).setDeviceId("phone-1")
                .addBizTypes("CHAT");
    }

    private void sendHello(Hello.Builder hello) {
        send(channel, Frames.encode(ClientFrame.newBuilder().setHello(hello).build()));
    }

    @Test
    void aValidHelloIsWelcomedAndTheSessionHandlerTakesOver() {
        sendHello(hello(gateway.token("phone-1", "alice")).setOsType("android").setAppVersion("3.2.1"));

        List<ServerFrame> frames = received(channel);
        assertThat(frames).isNotEmpty();
        Welcome welcome = frames.get(0).getWelcome();
        assertThat(frames.get(0).getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
        assertThat(welcome.getVersion()).isEqualTo(2);
        assertThat(welcome.getDeviceId()).isEqualTo("phone-1");
        assertThat(welcome.getUserId()).isEqualTo("alice");
        assertThat(welcome.getHeartbeatIntervalMs()).isEqualTo(gateway.config.heartbeatSeconds * 1000);
        assertThat(welcome.getMaxFrameBytes()).isEqualTo(gateway.config.maxFrameBytes);
        assertThat(welcome.getSessionId()).isNotEmpty();
        assertThat(channel.pipeline().get(GatewayInitializer.HANDSHAKE)).isNull();
        assertThat(channel.pipeline().get(GatewayInitializer.SESSION_HANDLER)).isInstanceOf(SessionHandler.class);
        assertThat(channel.isOpen()).isTrue();
        assertThat(gateway.engine.sessionCount()).isEqualTo(1);
    }

    @Test
    void anUnknownBizTypeIsNamedInTheWelcome() {
        sendHello(hello(gateway.token("phone-1", "alice")).addBizTypes("NOT-YET"));

        assertThat(received(channel).get(0).getWelcome().getUnknownBizTypesList()).containsExactly("NOT-YET");
    }

    @Test
    void aFirstFrameOtherThanHelloIsRefusedAndTheConnectionClosed() {
        send(channel, hex(PING));

        assertError(ErrorCode.HANDSHAKE_REQUIRED, false);
        assertThat(gateway.engine.sessionCount()).isZero();
    }

    @Test
    void aForgedTokenIsRefusedAndNoSessionOpens() {
        TokenVerifier forger = new TokenVerifier("another-secret-that-is-32-bytes-long!!", Clock.systemUTC());
        sendHello(hello(forger.mint("phone-1", "alice", 3600)));

        assertError(ErrorCode.INVALID_TOKEN, false);
        assertThat(gateway.engine.sessionCount()).isZero();
    }

    @Test
    void anExpiredTokenIsRefusedAsRetryable() {
        TokenVerifier yesterday = new TokenVerifier(EmbeddedGateway.SECRET,
                Clock.offset(Clock.systemUTC(), Duration.ofDays(-1)));
        sendHello(hello(yesterday.mint("phone-1", "alice", 60)));

        assertError(ErrorCode.TOKEN_EXPIRED, true);
    }

    @Test
    void aHelloForAnotherDeviceThanTheTokensIsRefused() {
        sendHello(hello(gateway.token("phone-2", "alice")));

        assertError(ErrorCode.DEVICE_MISMATCH, false);
    }

    @Test
    void aHelloThatChangesTheTokensUserIsRefused() {
        sendHello(hello(gateway.token("phone-1", "alice")).setUserId("mallory"));

        assertError(ErrorCode.USER_SESSION_INVALID, false);
    }

    @Test
    void aClientOfNoCommonVersionIsRefused() {
        sendHello(hello(gateway.token("phone-1", "alice")).setMinVersion(7).setMaxVersion(9));

        ServerFrame error = assertError(ErrorCode.UNSUPPORTED_VERSION, false);
        assertThat(error.getError().getMessage()).contains("7..9");
    }

    @Test
    void aConnectionThatNeverSaysHelloIsClosedAtTheHandshakeTimeout() {
        channel.advanceTimeBy(gateway.config.handshakeTimeoutSeconds - 1, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(received(channel)).isEmpty();
        assertThat(channel.isOpen()).isTrue();

        channel.advanceTimeBy(2, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();

        assertError(ErrorCode.HANDSHAKE_TIMEOUT, true);
    }

    @Test
    void aLengthPrefixAboveTheFrameCapIsRefusedBeforeAnythingIsBuffered() {
        // varint 0x7FFFFFFF: a 2 GiB frame announced in five bytes
        send(channel, hex("FF FF FF FF 07"));

        assertError(ErrorCode.FRAME_TOO_LARGE, false);
    }

    @Test
    void bytesThatAreNoClientFrameAreRefused() {
        // length 3 | tag 0x0A (hello), length 5, but only one byte follows inside the frame
        send(channel, hex("03 0A 05 01"));

        assertError(ErrorCode.BAD_FRAME, false);
    }

    @Test
    void whatFollowsARefusedHelloInTheSameReadIsIgnored() {
        TokenVerifier forger = new TokenVerifier("another-secret-that-is-32-bytes-long!!", Clock.systemUTC());
        byte[] badHello = Frames.encode(ClientFrame.newBuilder().setHello(hello(forger.mint("phone-1", "a", 60))).build());
        byte[] goodHello = Frames.encode(ClientFrame.newBuilder().setHello(hello(gateway.token("phone-1", "alice"))).build());
        byte[] both = new byte[badHello.length + goodHello.length];
        System.arraycopy(badHello, 0, both, 0, badHello.length);
        System.arraycopy(goodHello, 0, both, badHello.length, goodHello.length);
        send(channel, both);

        assertError(ErrorCode.INVALID_TOKEN, false);
        assertThat(gateway.engine.sessionCount()).isZero();
    }

    /** The server's only frame is this Error, and the connection is closed after it. */
    private ServerFrame assertError(ErrorCode code, boolean retry) {
        List<ServerFrame> frames = received(channel);
        assertThat(frames).extracting(ServerFrame::getKindCase).containsExactly(ServerFrame.KindCase.ERROR);
        ServerFrame error = frames.get(0);
        assertThat(error.getError().getCode()).isEqualTo(code);
        assertThat(error.getError().getRetry()).as("retry").isEqualTo(retry);
        assertThat(error.getError().getMessage()).isNotBlank();
        assertThat(channel.isOpen()).as("closed after the Error").isFalse();
        return error;
    }
}
