package io.mss.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
            // a user nobody else pushes to, on node 1: only the reconciliation brings it what node 0 stores
            Device quiet = cluster.connect("quiet-d0", "quiet", 1, "ORDER");
            scopesByDevice.put("quiet-d0", List.of(DeliveryChecker.scope("ORDER", "USER", "quiet")));
            ClusterTest.awaitSessions(cluster, USERS * 2 + 1);

            ClusterPushers pushers = new ClusterPushers(cluster, 2, USERS);
            pushers.awaitMoreAcknowledged(100);

            // Redis away: pushes still succeed, and devices on the other node still get them
            services.stopRedis();
            await().atMost(Duration.ofSeconds(20)).until(() ->
                    cluster.node(0).api().call("GET", "/health/ready", null).status() == 503);
            assertThat(cluster.node(0).api().call("GET", "/health/ready", null).body().get("redis").asText())
                    .isEqualTo("down");
            pushers.awaitMoreAcknowledged(100);
            // pushed through node 0, for a device on node 1: no bus message, the reconciliation finds it
            Api.Answer marker = cluster.node(0).api().push("ORDER", "user0", "while-redis-is-down", null);
            assertThat(marker.status()).isEqualTo(200);
            cluster.checker.acknowledged(DeliveryChecker.scope("ORDER", "USER", "user0"), marker.oplogId(),
                    "while-redis-is-down");
            await().atMost(Duration.ofSeconds(15)).until(() -> devices.get("u0-d1").received.stream()
                    .anyMatch(m -> m.payload().equals("while-redis-is-down")));
            Api.Answer unheard = cluster.node(0).api().push("ORDER", "quiet", "heard-by-nobody", null);
            assertThat(unheard.status()).isEqualTo(200);
            cluster.checker.acknowledged(DeliveryChecker.scope("ORDER", "USER", "quiet"), unheard.oplogId(),
                    "heard-by-nobody");
            await().atMost(Duration.ofSeconds(15)).until(() -> quiet.received.stream()
                    .anyMatch(m -> m.payload().equals("heard-by-nobody")));
            // node 1 heard of it neither from a commit of its own nor from the bus: the reconciliation counts it
            await().atMost(Duration.ofSeconds(15)).until(() -> MetricsAndLookupTest.value(cluster.node(1).api().metrics(),
                    "mss_reconciler_catchups_total{kind=\"scope\"}") >= 1);
            services.startRedis();
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    cluster.node(0).api().call("GET", "/health/ready", null).status() == 200);

            // PostgreSQL away: pushes are refused with STORE_UNAVAILABLE, readiness names it
            services.stopPostgres();
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    pushers.refusals().containsKey("503 STORE_UNAVAILABLE"));
            Api.Answer ready = cluster.node(1).api().call("GET", "/health/ready", null);
            assertThat(ready.status()).isEqualTo(503);
            assertThat(ready.body().get("postgres").asText()).isEqualTo("down");
            services.startPostgres();
            pushers.awaitMoreAcknowledged(100);

            pushers.close();
            ClusterTest.awaitCaughtUp(cluster.checker, scopesByDevice);
            DeliveryChecker.Report report = cluster.checker.check(scopesByDevice);
            System.out.printf("cluster outage test: acknowledged=%d refusals=%s %s%n", pushers.acknowledged(),
                    pushers.refusals(), report);
            // stopping PostgreSQL may cut a commit on its way: settled on a new timeline, if not stored
            assertThat(cluster.cleanOrRestartsExplained(report)).as(report.toString()).isTrue();
            assertThat(pushers.refusals().keySet()).as("every refusal says the store is unavailable")
                    .containsOnly("503 STORE_UNAVAILABLE");
        }
    }
}
