package io.mss.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A two-node cluster on a PostgreSQL and a Redis of the test's own, restarted under load:
 * while Redis is away the nodes still deliver (the reconciliation reads the store); while
 * PostgreSQL is away pushes fail with 503 STORE_UNAVAILABLE and readiness says so; nothing
 * acknowledged is lost, and delivery resumes when both are back.
 */
class ClusterOutageTest {
    private static final int USERS = 4;

    @TempDir
    Path tmp;

    @Test
    void redisAndPostgresRestartsLoseNothingAcknowledged() throws Exception {
        try (PrivateServices services = PrivateServices.start();
             Cluster cluster = Cluster.start(tmp, 2, services.postgresUrl(), services.redisUri(), 500)) {
            cluster.node(0).api().createBizType("ORDER", "APPOINTED", "USER");
            Map<String, List<String>> scopesByDevice = new LinkedHashMap<>();
            Map<String, Device> devices = new LinkedHashMap<>();
            for (int u = 0; u < USERS; u++) {
                for (int d = 0; d < 2; d++) {
                    String deviceId = "u" + u + "-d" + d;
                    devices.put(deviceId, cluster.connect(deviceId, "user" + u, (u + d) % 2, "ORDER"));
                    scopesByDevice.put(deviceId, List.of(DeliveryChecker.scope("ORDER", "USER", "user" + u)));
                }
            }
            ClusterTest.awaitSessions(cluster, USERS * 2);

            AtomicBoolean pushing = new AtomicBoolean(true);
            AtomicLong acknowledged = new AtomicLong();
            Map<String, AtomicLong> refusals = new ConcurrentHashMap<>();
            List<Thread> pushers = new ArrayList<>();
            for (int n = 0; n < 2; n++) {
                Api api = cluster.node(n).api();
                int node = n;
                Thread pusher = new Thread(() -> {
                    long i = 0;
                    while (pushing.get()) {
                        String user = "user" + ThreadLocalRandom.current().nextInt(USERS);
                        String payload = "n" + node + "-" + (i++);
                        Api.Answer answer = api.push("ORDER", user, payload, null);
                        if (answer.status() == 200 && "OK".equals(answer.resultCode())) {
                            cluster.checker.acknowledged(DeliveryChecker.scope("ORDER", "USER", user),
                                    answer.oplogId(), payload);
                            acknowledged.incrementAndGet();
                        } else {
                            refusals.computeIfAbsent(answer.status() + " " + answer.resultCode(),
                                    k -> new AtomicLong()).incrementAndGet();
                            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                        }
                    }
                }, "pusher-node" + n);
                pusher.start();
                pushers.add(pusher);
            }
            awaitMoreAcknowledged(acknowledged, 100);

            // Redis away: pushes still succeed, and devices on the other node still get them
            services.stopRedis();
            await().atMost(Duration.ofSeconds(20)).until(() ->
                    cluster.node(0).api().call("GET", "/health/ready", null).status() == 503);
            assertThat(cluster.node(0).api().call("GET", "/health/ready", null).body().get("redis").asText())
                    .isEqualTo("down");
            awaitMoreAcknowledged(acknowledged, 100);
            // pushed through node 0, for a device on node 1: no bus message, the reconciliation finds it
            Api.Answer marker = cluster.node(0).api().push("ORDER", "user0", "while-redis-is-down", null);
            assertThat(marker.status()).isEqualTo(200);
            cluster.checker.acknowledged(DeliveryChecker.scope("ORDER", "USER", "user0"), marker.oplogId(),
                    "while-redis-is-down");
            await().atMost(Duration.ofSeconds(15)).until(() -> devices.get("u0-d1").received.stream()
                    .anyMatch(m -> m.payload().equals("while-redis-is-down")));
            services.startRedis();
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    cluster.node(0).api().call("GET", "/health/ready", null).status() == 200);

            // PostgreSQL away: pushes are refused with STORE_UNAVAILABLE, readiness names it
            services.stopPostgres();
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    refusals.containsKey("503 STORE_UNAVAILABLE"));
            Api.Answer ready = cluster.node(1).api().call("GET", "/health/ready", null);
            assertThat(ready.status()).isEqualTo(503);
            assertThat(ready.body().get("postgres").asText()).isEqualTo("down");
            services.startPostgres();
            awaitMoreAcknowledged(acknowledged, 100);

            pushing.set(false);
            for (Thread pusher : pushers) {
                pusher.join();
            }
            ClusterTest.awaitCaughtUp(cluster.checker, scopesByDevice);
            DeliveryChecker.Report report = cluster.checker.check(scopesByDevice);
            System.out.printf("cluster outage test: acknowledged=%d refusals=%s %s%n", acknowledged.get(),
                    refusals, report);
            assertThat(report.clean()).as(report.toString()).isTrue();
            assertThat(refusals.keySet()).as("every refusal says the store is unavailable")
                    .containsOnly("503 STORE_UNAVAILABLE");
        }
    }

    private static void awaitMoreAcknowledged(AtomicLong acknowledged, long more) {
        long before = acknowledged.get();
        await().atMost(Duration.ofSeconds(60)).until(() -> acknowledged.get() >= before + more);
    }
}
