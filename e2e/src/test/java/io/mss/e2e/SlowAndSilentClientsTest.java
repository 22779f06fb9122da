package io.mss.e2e;

import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import io.mss.server.sync.Session;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Clients that read slowly, or go quiet, cost the server a bounded amount and then nothing. */
class SlowAndSilentClientsTest {
    private static final int HIGH_WATER = 256 * 1024;
    private static final int MAX_FRAME = 1 << 20;

    @TempDir
    Path tmp;
    TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"), c -> {
            c.heartbeatSeconds = 1;
            c.handshakeTimeoutSeconds = 1;
            c.writeBufferHighBytes = HIGH_WATER;
            c.writeBufferLowBytes = HIGH_WATER / 4;
            c.maxFrameBytes = MAX_FRAME;
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
    void aClientThatStopsReadingCostsAtMostTheWriteBufferAndLaterGetsEverything() throws Exception {
        // 3,000 oplogs of 4,000 characters: about 12 MB waiting for one device
        String payload = "x".repeat(4000);
        int count = 3_000;
        server.api.pushMany("FEED", "slow", payload, count);
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(hello("slow-phone", "slow"));
            // the client reads nothing: the kernel's socket buffers fill, then the channel turns unwritable
            await().atMost(Duration.ofSeconds(10)).until(() -> sessionOf("slow-phone") != null
                    && !sessionOf("slow-phone").channel().isWritable());
            AtomicLong worst = new AtomicLong();
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> {
                worst.accumulateAndGet(sessionOf("slow-phone").pendingOutboundBytes(), Math::max);
                return true;
            });
            // bounded by the high-water mark plus the one frame that crossed it
            assertThat(worst.get()).isLessThanOrEqualTo(HIGH_WATER + MAX_FRAME);

            // now it reads: everything arrives, in order, without gaps
            List<Long> ids = new ArrayList<>();
            assertThat(c.read().getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
            while (ids.size() < count) {
                ServerFrame frame = c.read();
                assertThat(frame.getKindCase()).isEqualTo(ServerFrame.KindCase.SYNC_DATA);
                frame.getSyncData().getBatchesList().forEach(b -> b.getOplogsList().stream()
                        .map(Oplog::getId).forEach(ids::add));
            }
            assertThat(ids).hasSize(count).isSorted().doesNotHaveDuplicates();
            assertThat(ids.get(0)).isEqualTo(1);
            assertThat(ids.get(count - 1)).isEqualTo(count);
            c.send(ClientFrame.newBuilder().setAck(Ack.newBuilder().addSyncPoints(SyncPoint.newBuilder()
                    .setBizType("FEED").setScope(ScopeKind.USER).setId(count))).build());
        }
    }

    @Test
    void aClientThatNeverSaysHelloIsClosedAfterTheHandshakeTimeout() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            ServerFrame frame = c.read();
            assertThat(frame.getError().getCode()).isEqualTo(ErrorCode.HANDSHAKE_TIMEOUT);
            assertThat(c.closedByServer()).isTrue();
        }
    }

    @Test
    void aSessionThatGoesQuietIsClosedAfterTwoAndAHalfHeartbeats() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(hello("quiet-phone", "quiet"));
            assertThat(c.read().getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
            assertThat(c.read().getKindCase()).isEqualTo(ServerFrame.KindCase.SYNC_DATA);
            long start = System.nanoTime();
            ServerFrame frame = c.read(); // no pings from us
            long waitedMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(frame.getError().getCode()).isEqualTo(ErrorCode.IDLE_TIMEOUT);
            assertThat(frame.getError().getRetry()).isTrue();
            assertThat(waitedMs).isBetween(1_500L, 5_000L);
            assertThat(c.closedByServer()).isTrue();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> server.server.engine().sessionCount() == 0);
    }

    private Session sessionOf(String deviceId) {
        return server.server.engine().sessions().stream().filter(s -> s.deviceId().equals(deviceId))
                .findFirst().orElse(null);
    }
}
