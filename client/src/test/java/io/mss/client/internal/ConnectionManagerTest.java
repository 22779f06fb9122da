package io.mss.client.internal;

import io.mss.client.ConnectFailure;
import io.mss.client.ConnectionListener;
import io.mss.client.internal.proto.Hello;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The connection manager against a port nobody listens on (a real refused TCP connect, no
 * server): attempts only while in the foreground, each failure reported with its streak count
 * and the capped, jittered delay before the next attempt.
 */
class ConnectionManagerTest {
    final StateLoop loop = new StateLoop("test-state", Runnable::run);
    final AtomicBoolean closing = new AtomicBoolean();
    final List<ConnectFailure> failures = new CopyOnWriteArrayList<>();
    final List<Connection> ended = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        closing.set(true);
        loop.shutdown();
    }

    ConnectionManager manager() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ClientConfig config = new ClientConfig();
        config.host = "127.0.0.1";
        config.port = port;
        config.deviceId = "phone-1";
        config.tokenProvider = (deviceId, userId) -> "token";
        config.insecureTrustAll = true;
        config.connectTimeoutMillis = 2_000;
        ConnectionManager m = new ConnectionManager(loop, config, Tls.from(config), new Backoff(20, 80, new Random(1)),
                closing::get, new ConnectionManager.Session() {
                    @Override
                    public void hello(Connection c, Hello.Builder hello) {
                    }

                    @Override
                    public void welcomed(Connection c) {
                    }

                    @Override
                    public void framesQueued(Connection c) {
                    }

                    @Override
                    public void ended(Connection c) {
                        ended.add(c);
                    }
                });
        m.listeners().add(new ConnectionListener() {
            @Override
            public void onConnectFailed(ConnectFailure failure) {
                failures.add(failure);
            }
        });
        return m;
    }

    @Test
    void refusedAttemptsRetryWithCappedJitteredBackoffAndCountTheStreak() throws Exception {
        ConnectionManager m = manager();
        OnStateThread.run(loop, m::foreground);
        await().atMost(Duration.ofSeconds(20)).until(() -> failures.size() >= 5);
        for (int i = 0; i < 5; i++) {
            ConnectFailure f = failures.get(i);
            assertThat(f.reason()).isEqualTo(ConnectFailure.Reason.REFUSED);
            assertThat(f.consecutiveFailures()).isEqualTo(i + 1);
            assertThat(f.willRetry()).isTrue();
            assertThat(f.retryInMillis()).isBetween(20L, 80L);
        }
        assertThat(m.isConnected()).isFalse();
        assertThat(ended).hasSizeGreaterThanOrEqualTo(5);
    }

    @Test
    void inTheBackgroundNothingIsAttempted() throws Exception {
        ConnectionManager m = manager();
        OnStateThread.run(loop, m::foreground);
        await().atMost(Duration.ofSeconds(20)).until(() -> failures.size() >= 2);
        OnStateThread.run(loop, () -> m.background("test"));
        int after = failures.size();
        // an attempt already on its way may still report; none starts after it
        await().during(Duration.ofMillis(400)).atMost(Duration.ofSeconds(5))
                .until(() -> failures.size() <= after + 1);
        assertThat(OnStateThread.call(loop, m::current)).isNull();
    }

    @Test
    void aClosingClientStartsNoAttempt() throws Exception {
        ConnectionManager m = manager();
        closing.set(true);
        OnStateThread.run(loop, m::foreground);
        assertThat(OnStateThread.call(loop, m::current)).isNull();
        assertThat(failures).isEmpty();
    }
}
