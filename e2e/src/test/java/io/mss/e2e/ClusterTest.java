package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three server processes on loopback sharing one PostgreSQL schema and one Redis: devices on
 * every node, pushes through every node, and the delivery checker proves order, no gaps and
 * no duplicates; then one node is killed with SIGKILL under load and its devices move to the
 * others without losing anything. {@link ClusterOnHaTest} runs the same tests on the highly
 * available services.
 */
class ClusterTest {
    private static final int USERS = 6;

    @TempDir
    Path tmp;

    /** The cluster under test: on the machine's PostgreSQL and Redis here. */
    Cluster cluster(int size) throws Exception {
        return Cluster.start(tmp, size);
    }

    @Test
    void threeNodesDeliverEveryPushOnceInOrder() throws Exception {
        try (Cluster cluster = cluster(3)) {
            cluster.node(0).api().createBizType("ORDER", "APPOINTED", "USER");
            cluster.node(1).api().createBizType("NEWS", "GLOBAL", "USER");

            Map<String, List<String>> scopesByDevice = new LinkedHashMap<>();
            for (int u = 0; u < USERS; u++) {
                for (int d = 0; d < 2; d++) {
                    // a user's two devices sit on different nodes
                    String deviceId = "u" + u + "-d" + d;
                    cluster.connect(deviceId, "user" + u, (u + d) % 3, "ORDER", "NEWS");
                    scopesByDevice.put(deviceId, List.of(DeliveryChecker.scope("ORDER", "USER", "user" + u),
                            DeliveryChecker.scope("NEWS", "GLOBAL", "")));
                }
            }
            awaitSessions(cluster, USERS * 2);

            List<Thread> pushers = new ArrayList<>();
            AtomicLong refused = new AtomicLong();
            for (int n = 0; n < 3; n++) {
                Api api = cluster.node(n).api();
                int node = n;
                Thread pusher = new Thread(() -> {
                    for (int i = 0; i < 150; i++) {
                        String payload = "n" + node + "-" + i;
                        if (i % 15 == 0) {
                            Api.Answer answer = api.pushGlobal("NEWS", payload);
                            record(cluster.checker, answer, DeliveryChecker.scope("NEWS", "GLOBAL", ""), payload, refused);
                        } else {
                            String user = "user" + ThreadLocalRandom.current().nextInt(USERS);
                            Api.Answer answer = api.push("ORDER", user, payload, null);
                            record(cluster.checker, answer, DeliveryChecker.scope("ORDER", "USER", user), payload, refused);
                        }
                    }
                }, "pusher-node" + n);
                pusher.start();
                pushers.add(pusher);
            }
            for (Thread pusher : pushers) {
                pusher.join();
            }
            assertThat(refused.get()).as("pushes refused by a healthy cluster").isZero();

            awaitCaughtUp(cluster.checker, scopesByDevice);
            DeliveryChecker.Report report = cluster.checker.check(scopesByDevice);
            System.out.println("cluster test: " + report);
            assertThat(report.clean()).as(report.toString()).isTrue();
            assertThat(report.acknowledged).isGreaterThanOrEqualTo(450);

            JsonNode nodes = cluster.node(2).api().call("GET", "/api/v1/nodes", null).body().get("nodes");
            assertThat(nodes).extracting(node -> node.get("nodeId").asText())
                    .containsExactly("node0", "node1", "node2");
            assertThat(nodes.get(1).get("httpAddress").asText()).isEqualTo("127.0.0.1:" + cluster.node(1).httpPort);
            assertThat(nodes.get(1).get("syncAddress").asText()).isEqualTo("127.0.0.1:" + cluster.node(1).syncPort);
            for (ServerProcess node : cluster.nodes) {
                node.assertNoLeaksLogged();
            }
        }
    }

    @Test
    void devicesOfAKilledNodeMoveToTheOthersAndLoseNothing() throws Exception {
        try (Cluster cluster = cluster(3)) {
            cluster.node(0).api().createBizType("ORDER", "APPOINTED", "USER");

            Map<String, List<String>> scopesByDevice = new LinkedHashMap<>();
            Map<String, Device> devices = new LinkedHashMap<>();
            for (int u = 0; u < USERS; u++) {
                for (int d = 0; d < 2; d++) {
                    String deviceId = "u" + u + "-d" + d;
                    devices.put(deviceId, cluster.connect(deviceId, "user" + u, (u + d) % 3, "ORDER"));
                    scopesByDevice.put(deviceId, List.of(DeliveryChecker.scope("ORDER", "USER", "user" + u)));
                }
            }
            awaitSessions(cluster, USERS * 2);

            ClusterPushers pushers = new ClusterPushers(cluster, 3, USERS);
            await().atMost(Duration.ofSeconds(60)).until(() -> pushers.acknowledged() > 150);
            cluster.node(2).kill();
            // the apps of node 2 notice and reconnect elsewhere, resuming from their sync points
            int target = 0;
            for (int u = 0; u < USERS; u++) {
                for (int d = 0; d < 2; d++) {
                    if ((u + d) % 3 == 2) {
                        String deviceId = "u" + u + "-d" + d;
                        devices.put(deviceId, cluster.move(devices.get(deviceId), "user" + u, target++ % 2, "ORDER"));
                    }
                }
            }
            long afterKill = pushers.acknowledged();
            await().atMost(Duration.ofSeconds(60)).until(() -> pushers.acknowledged() > afterKill + 150);
            pushers.close();

            awaitCaughtUp(cluster.checker, scopesByDevice);
            DeliveryChecker.Report report = cluster.checker.check(scopesByDevice);
            System.out.printf("cluster kill test: acknowledged=%d failed=%d %s%n", pushers.acknowledged(), pushers.refused(),
                    report);
            assertThat(report.clean()).as(report.toString()).isTrue();
            cluster.node(0).assertNoLeaksLogged();
        }
    }

    private static void record(DeliveryChecker checker, Api.Answer answer, String scope, String payload,
                               AtomicLong refused) {
        if (answer.status() == 200 && "OK".equals(answer.resultCode())) {
            checker.acknowledged(scope, answer.oplogId(), payload);
        } else {
            refused.incrementAndGet();
            System.out.println("refused: " + answer);
        }
    }

    static void awaitSessions(Cluster cluster, int count) {
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            int sessions = 0;
            for (ServerProcess node : cluster.nodes) {
                sessions += node.api().call("GET", "/health/ready", null).body().get("sessions").asInt();
            }
            return sessions == count;
        });
    }

    static void awaitCaughtUp(DeliveryChecker checker, Map<String, List<String>> scopesByDevice) {
        await().atMost(Duration.ofSeconds(60)).until(() -> scopesByDevice.entrySet().stream()
                .allMatch(e -> e.getValue().stream().allMatch(scope -> checker.caughtUp(e.getKey(), scope))));
    }
}
