package io.mss.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** max-connections-per-ip: beyond it a connection is closed at accept, before TLS. */
class ConnectionLimitTest {
    @TempDir
    static Path tmp;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"), c -> c.maxConnectionsPerIp = 3);
        server.api.createBizType("ORDER", "APPOINTED", "USER");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void theFourthConnectionFromOneIpIsClosedAtAcceptAndAFreedSlotIsReused() throws Exception {
        List<RawConnection> open = new ArrayList<>();
        try (EventLog events = new EventLog()) {
            for (int i = 0; i < 3; i++) {
                open.add(new RawConnection(server.syncPort(), server.certFile())); // TLS handshake completes
            }
            // the fourth never gets a TLS handshake
            assertThatThrownBy(() -> new RawConnection(server.syncPort(), server.certFile()).close())
                    .isInstanceOf(java.io.IOException.class);
            assertThat(events.lines()).anyMatch(l -> l.startsWith("refuse remote=")
                    && l.contains("max-connections-per-ip=3"));
            // the open ones keep working: one of them becomes a session
            open.get(0).close();
            open.remove(0);
            // once a connection closed, its slot is free again
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> GatewayRefusalTest.assertAGoodClientStillConnects(server));
        } finally {
            for (RawConnection c : open) {
                c.close();
            }
        }
        // all closed: three at once are fine again
        List<RawConnection> again = new ArrayList<>();
        try {
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                for (RawConnection c : again) {
                    c.close();
                }
                again.clear();
                for (int i = 0; i < 3; i++) {
                    again.add(new RawConnection(server.syncPort(), server.certFile()));
                }
            });
        } finally {
            for (RawConnection c : again) {
                c.close();
            }
        }
    }
}
