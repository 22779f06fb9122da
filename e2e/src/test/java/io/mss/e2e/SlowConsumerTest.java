package io.mss.e2e;

import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.ServerFrame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Bounded outbound per connection: a client that does not read for longer than
 * slow-consumer-timeout-seconds is closed (Error SLOW_CONSUMER, retry), and its data waits in
 * the store for the next connection.
 */
class SlowConsumerTest {
    private static final int COUNT = 3_000;

    @TempDir
    Path tmp;
    TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"), c -> {
            c.slowConsumerTimeoutSeconds = 1;
            c.writeBufferHighBytes = 256 * 1024;
            c.writeBufferLowBytes = 64 * 1024;
        });
        server.api.createBizType("FEED", "APPOINTED", "USER");
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static ClientFrame hello(String device, String user) {
        return ClientFrame.newBuilder().setHello(Hello.newBuilder()
                .setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                .setToken(TestServer.token(device, user)).setDeviceId(device).addBizTypes("FEED")).build();
    }

    @Test
    void aClientThatDoesNotReadIsClosedAndAReconnectThatReadsGetsEverything() throws Exception {
        // about 12 MB for one device: more than loopback socket buffers (autotuned to a few MB) and the write buffer hold
        server.api.pushMany("FEED", "slow", "x".repeat(4000), COUNT);
        try (EventLog events = new EventLog();
             RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(hello("slow-phone", "slow"));
            await().atMost(Duration.ofSeconds(10)).until(() -> server.server.engine().sessionCount() == 1);
            // never reads: after the 1 s timeout the server gives up on it
            await().atMost(Duration.ofSeconds(15)).until(() -> server.server.engine().sessionCount() == 0);
            assertThat(events.contains("slow-consumer session=")).as(events.lines().toString()).isTrue();
            assertThat(events.lines()).anyMatch(l -> l.contains("code=SLOW_CONSUMER") && l.contains("retry=true"));
            // the connection is closed: what the kernel buffered can still be read, then it ends
            assertThat(readUntilClosed(c)).isLessThan(COUNT);
        }
        // nothing was acknowledged, so the next connection gets everything
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(hello("slow-phone", "slow"));
            assertThat(c.read().getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
            List<Long> ids = new ArrayList<>();
            while (ids.size() < COUNT) {
                ServerFrame frame = c.read();
                assertThat(frame.getKindCase()).isEqualTo(ServerFrame.KindCase.SYNC_DATA);
                frame.getSyncData().getBatchesList().forEach(b -> b.getOplogsList().stream()
                        .map(Oplog::getId).forEach(ids::add));
            }
            assertThat(ids).hasSize(COUNT).isSorted().doesNotHaveDuplicates();
            assertThat(ids.get(0)).isEqualTo(1);
        }
        GatewayRefusalTest.assertAGoodClientStillConnects(server);
    }

    /** Reads frames until the server's close shows; returns how many oplogs arrived. */
    private static int readUntilClosed(RawConnection c) throws Exception {
        int oplogs = 0;
        try {
            for (ServerFrame frame = c.read(); frame != null; frame = c.read()) {
                oplogs += frame.getSyncData().getBatchesList().stream().mapToInt(b -> b.getOplogsCount()).sum();
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the connection is still open after " + oplogs + " oplogs", e);
        } catch (IOException reset) {
            // a hard close may reach us as a reset, or cut a frame or a TLS record: closed either way
        }
        return oplogs;
    }
}
