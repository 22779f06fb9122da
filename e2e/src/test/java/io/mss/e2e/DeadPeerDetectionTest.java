package io.mss.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A half-open connection: the {@link FaultProxy} keeps both sockets open and forwards nothing.
 * With {@code heartbeatSeconds = 1} the server closes the session after 2.5 s of silence
 * ({@code IDLE_TIMEOUT}), and the SDK drops the connection after 2.5 s without a frame and
 * reconnects as soon as the network lets it.
 */
class DeadPeerDetectionTest {
    @TempDir
    Path tmp;

    @Test
    void serverAndSdkBothDetectAHalfOpenConnection() throws Exception {
        DeliveryChecker checker = new DeliveryChecker();
        try (TestServer server = TestServer.start(tmp.resolve("data"), c -> c.heartbeatSeconds = 1);
             FaultProxy proxy = new FaultProxy(server.syncPort())) {
            server.api.createBizType("ORDER", "APPOINTED", "USER");
            Device device = new Device("phone", "alice", proxy.port(), server.certFile().toFile(),
                    tmp.resolve("state"), checker, "ORDER");
            List<String> disconnects = new CopyOnWriteArrayList<>();
            device.client.addConnectionListener(new io.mss.client.ConnectionListener() {
                @Override
                public void onDisconnected(String reason, boolean willRetry) {
                    disconnects.add(reason);
                }
            });
            device.client.appToForeground();
            await().atMost(Duration.ofSeconds(10)).until(device.client::isConnected);
            await().atMost(Duration.ofSeconds(5)).until(() -> server.server.engine().sessionCount() == 1);
            String scope = DeliveryChecker.scope("ORDER", "USER", "alice");
            long first = server.api.push("ORDER", "alice", "before", null).oplogId();
            checker.acknowledged(scope, first, "before");
            await().atMost(Duration.ofSeconds(5)).until(() -> checker.caughtUp("phone", scope));

            // the network dies silently: the socket stays open, nothing gets through, and new
            // connections are refused until it comes back
            proxy.refuseNew(true);
            proxy.holdAll();
            long held = System.nanoTime();
            await().atMost(Duration.ofSeconds(6)).pollInterval(Duration.ofMillis(50))
                    .until(() -> server.server.engine().sessionCount() == 0);
            long serverMillis = (System.nanoTime() - held) / 1_000_000;
            await().atMost(Duration.ofSeconds(6)).pollInterval(Duration.ofMillis(50))
                    .until(() -> !device.client.isConnected());
            long sdkMillis = (System.nanoTime() - held) / 1_000_000;
            // the server measures 2.5 heartbeat intervals from the last frame it got (a Ping, at
            // most 1 s before the hold), so it may notice a bit before 2.5 s after the hold
            assertThat(serverMillis).as("server noticed after %d ms", serverMillis).isBetween(1000L, 4500L);
            assertThat(sdkMillis).as("SDK noticed after %d ms", sdkMillis).isBetween(1000L, 4500L);
            assertThat(proxy.open()).as("the proxy closed nothing").isNotEmpty();

            // while the network is down, pushes are stored and the device stays disconnected
            long second = server.api.push("ORDER", "alice", "while away", null).oplogId();
            checker.acknowledged(scope, second, "while away");
            await().during(Duration.ofMillis(700)).atMost(Duration.ofSeconds(5))
                    .until(() -> !device.client.isConnected());

            proxy.refuseNew(false);
            await().atMost(Duration.ofSeconds(10)).until(device.client::isConnected);
            await().atMost(Duration.ofSeconds(5)).until(() -> server.server.engine().sessionCount() == 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> checker.caughtUp("phone", scope));
            DeliveryChecker.Report report = checker.check(Map.of("phone", List.of(scope)));
            System.out.printf("dead peer: server closed the half-open session after %d ms, SDK after %d ms; "
                    + "disconnect reasons %s; %s%n", serverMillis, sdkMillis, disconnects, report);
            assertThat(report.clean()).as(report.toString()).isTrue();
            device.close();
        }
    }
}
