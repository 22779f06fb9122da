package io.mss.e2e;

import io.mss.protocol.Frames;
import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Ping;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random and mutated handshakes against the real server over real TLS (with Netty's leak
 * detector at paranoid, checked after the class by {@link NettyLeakGuard}). Every connection
 * must end in one of two ways: a session that works (the input happened to be valid), or an
 * Error frame followed by a close. The server keeps serving a good client throughout.
 * {@code -Dmss.fuzz.connections=N} runs longer (default 100).
 */
class HandshakeFuzzTest {
    private static final int CONNECTIONS = Integer.getInteger("mss.fuzz.connections", 100);

    @TempDir
    static Path tmp;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"), c -> {
            c.maxFrameBytes = 64 * 1024;
            c.handshakeTimeoutSeconds = 1;
        });
        server.api.createBizType("ORDER", "APPOINTED", "USER");
        server.api.push("ORDER", "fuzzer", "hello", null);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void mutatedHandshakesGetAnErrorAndACloseOrAWorkingSession() throws Exception {
        long base = Long.getLong("mss.fuzz.seed", 7L);
        int refused = 0;
        int accepted = 0;
        for (int i = 0; i < CONNECTIONS; i++) {
            long seed = base + i;
            SplittableRandom random = new SplittableRandom(seed);
            byte[] input = mutate(validHandshake(random), random);
            try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
                c.sendRaw(input);
                ServerFrame first = c.read();
                assertThat(first).as("seed " + seed + ": the server closed without an Error frame").isNotNull();
                if (first.hasError()) {
                    assertThat(first.getError().getMessage()).as("seed " + seed).isNotBlank();
                    assertThat(c.closedByServer()).as("seed " + seed + ": no close after the Error").isTrue();
                    refused++;
                } else {
                    assertThat(first.hasWelcome()).as("seed " + seed + ": " + first).isTrue();
                    accepted++;
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("seed " + seed + ": the server neither answered nor closed", e);
            }
            if (i % 25 == 0) {
                GatewayRefusalTest.assertAGoodClientStillConnects(server);
            }
        }
        GatewayRefusalTest.assertAGoodClientStillConnects(server);
        System.out.printf("handshake fuzz: %d connections, %d refused with an Error, %d accepted%n",
                CONNECTIONS, refused, accepted);
        assertThat(refused).isPositive();
    }

    private static byte[] validHandshake(SplittableRandom random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String device = "fuzz-" + random.nextInt(1000);
        out.writeBytes(Frames.encode(ClientFrame.newBuilder().setHello(Hello.newBuilder()
                .setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                .setToken(TestServer.token(device, "fuzzer")).setDeviceId(device).addBizTypes("ORDER")
                .addSyncPoints(SyncPoint.newBuilder().setBizType("ORDER").setScope(ScopeKind.USER).setId(0))).build()));
        out.writeBytes(Frames.encode(ClientFrame.newBuilder().setAck(Ack.newBuilder().addSyncPoints(
                SyncPoint.newBuilder().setBizType("ORDER").setScope(ScopeKind.USER).setId(random.nextLong()))).build()));
        out.writeBytes(Frames.encode(ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(1)).build()));
        return out.toByteArray();
    }

    private static byte[] mutate(byte[] bytes, SplittableRandom random) {
        byte[] result = bytes.clone();
        switch (random.nextInt(6)) {
            case 0 -> { // flip bits anywhere
                for (int n = 1 + random.nextInt(8); n > 0; n--) {
                    result[random.nextInt(result.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> { // overwrite the length prefix
                result[0] = (byte) random.nextInt(256);
            }
            case 2 -> { // a huge announced length
                result = concat(new byte[]{(byte) 0xFF, (byte) 0xFF, (byte) 0x7F}, result);
            }
            case 3 -> { // random garbage
                result = new byte[1 + random.nextInt(300)];
                for (int i = 0; i < result.length; i++) {
                    result[i] = (byte) random.nextInt(256);
                }
            }
            case 4 -> { // the Hello repeated: a second Hello is refused
                result = concat(result, bytes);
            }
            default -> { // corrupt the token's signature
                int at = result.length / 3 + random.nextInt(Math.max(1, result.length / 3));
                result[at] = (byte) ('A' + random.nextInt(26));
            }
        }
        return result;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = new byte[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
