package io.mss.e2e;

import io.mss.client.SyncMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Retention: an oplog older than its bizType's retentionDays is never delivered, is purged
 * from disk, and a device that missed it is told FULL_UPDATE rather than left with a silent
 * gap. The server's clock is moved days ahead instead of waiting.
 */
class RetentionTest {
    @TempDir
    Path tmp;
    final TestClock clock = new TestClock();
    TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"), c -> { }, clock);
        server.api.post("/api/v1/biz-types", Map.of("id", "NOTES", "range", "APPOINTED", "target", "USER",
                "retentionDays", 7));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void expiredOplogsAreNeverDeliveredArePurgedAndTheDeviceIsToldFullUpdate() throws Exception {
        DeliveryChecker checker = new DeliveryChecker();
        for (int i = 1; i <= 3; i++) {
            assertThat(server.api.push("NOTES", "hal", "old " + i, null).status()).isEqualTo(200);
        }
        clock.advance(Duration.ofDays(8));
        Api.Answer fresh = server.api.push("NOTES", "hal", "fresh", null);
        assertThat(fresh.oplogId()).isEqualTo(4);

        // expired but still on disk: skipped, with FULL_UPDATE
        try (Device phone = Device.connect("hal-phone", "hal", server, tmp.resolve("phone"), checker, "NOTES")) {
            await().atMost(Duration.ofSeconds(10)).until(() -> phone.received.size() == 1 && !phone.fullUpdates.isEmpty());
            assertThat(phone.received).extracting(SyncMessage::payload).containsExactly("fresh");
            assertThat(phone.fullUpdates).containsExactly("NOTES");
        }

        // purged from disk: a device that never had them sees the gap, and FULL_UPDATE again
        assertThat(server.server.engine().purgeExpired()).isEqualTo(3);
        try (Device tablet = Device.connect("hal-tablet", "hal", server, tmp.resolve("tablet"), checker, "NOTES")) {
            await().atMost(Duration.ofSeconds(10)).until(() -> tablet.received.size() == 1 && !tablet.fullUpdates.isEmpty());
            assertThat(tablet.received).extracting(SyncMessage::payload).containsExactly("fresh");
        }
        // ids never restart after a purge
        assertThat(server.api.push("NOTES", "hal", "later", null).oplogId()).isEqualTo(5);
    }
}
