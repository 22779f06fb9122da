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
 * Three MSS nodes on the highly available services ({@link HaServices}: PostgreSQL under Patroni
 * with a synchronous standby, Redis under three sentinels), each part killed with SIGKILL under
 * push load with devices on all three nodes. Whatever a push was answered OK with is delivered:
 * nothing lost, duplicated or misordered; pushes refused meanwhile are counted, and the time until
 * pushes succeed again is printed.
 */
class ClusterFailoverTest {
    private static final int USERS = 6;

    @TempDir
    Path tmp;

    /** Rounds: {@code mss.failover.rounds} (default 1, {@code -Plong}: 10 primary failovers in a row). */
    @Test
    void sigkillOfThePostgresPrimaryPromotesTheStandbyAndLosesNothingAcknowledged() throws Exception {
        int rounds = Integer.getInteger("mss.failover.rounds", 1);
        try (HaServices ha = HaServices.start();
             Cluster cluster = Cluster.start(tmp, 3, ha.postgresUrl(), ha.redisUri(), 500)) {
            Load load = Load.start(cluster);
            for (int round = 1; round <= rounds; round++) {
                failOverPostgres(ha, load, round);
            }
            load.finish();
        }
    }

    @Test
    void sigkillOfTheRedisMasterPromotesTheReplicaAndDeliveryGoesOn() throws Exception {
        try (HaServices ha = HaServices.start();
             Cluster cluster = Cluster.start(tmp, 3, ha.postgresUrl(), ha.redisUri(), 500)) {
            Load load = Load.start(cluster);
            int master = ha.redisMaster();
            ha.kill(master == ha.redis1 ? "redis1" : "redis2");
            long killedAt = System.nanoTime();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> ha.redisMaster() != master);
            System.out.printf("redis failover: sentinels named the replica master after %d ms%n",
                    (System.nanoTime() - killedAt) / 1_000_000);
            // every node's readiness comes back once the bus found the new master
            await().atMost(Duration.ofSeconds(60)).until(() -> cluster.nodes.stream()
                    .allMatch(node -> node.api().call("GET", "/health/ready", null).status() == 200));
            System.out.printf("redis failover: every node ready again after %d ms%n",
                    (System.nanoTime() - killedAt) / 1_000_000);
            load.pushers.awaitMoreAcknowledged(200);
            load.finish();
            // pushes never depended on Redis: none was refused
            assertThat(load.pushers.refusals()).isEmpty();
        }
    }

    /**
     * With etcd's only member gone Patroni cannot renew the leader key: it cannot tell a partition
     * from a dead DCS, so it demotes the primary to read-only (no split brain), and pushes get 503
     * until etcd is back; then a primary is elected again and nothing acknowledged is lost.
     */
    @Test
    void sigkillOfEtcdMakesPatroniDemoteThePrimaryUntilEtcdIsBack() throws Exception {
        try (HaServices ha = HaServices.start();
             Cluster cluster = Cluster.start(tmp, 3, ha.postgresUrl(), ha.redisUri(), 500)) {
            Load load = Load.start(cluster);
            ha.kill("etcd");
            long killedAt = System.nanoTime();
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                    .until(() -> load.pushers.refusals().containsKey("503 STORE_UNAVAILABLE"));
            System.out.printf("etcd down: pushes refused after %d ms (Patroni demoted the primary)%n",
                    (System.nanoTime() - killedAt) / 1_000_000);
            assertThat(ha.primary()).as("no primary without the DCS").isNull();
            ha.restart("etcd");
            long back = System.nanoTime();
            load.pushers.awaitMoreAcknowledged(100);
            System.out.printf("etcd back: pushes succeed again after %d ms%n", (System.nanoTime() - back) / 1_000_000);
            load.finish();
        }
    }

    private static void failOverPostgres(HaServices ha, Load load, int round) throws Exception {
        ha.awaitSyncStandby();
        load.pushers.awaitMoreAcknowledged(100);
        String primary = ha.primary();
        assertThat(primary).isNotNull();
        long refusedBefore = load.pushers.refused();
        long ackedBefore = load.pushers.acknowledged();
        ha.kill(primary);
        long killedAt = System.nanoTime();
        // the first push acknowledged after the kill is the first on the promoted standby
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(50))
                .until(() -> load.pushers.refused() > refusedBefore && load.pushers.acknowledged() > ackedBefore
                        && !primary.equals(ha.primary()) && ha.primary() != null);
        load.pushers.awaitMoreAcknowledged(50);
        System.out.printf("postgres failover %d: %s killed, %s promoted; pushes refused meanwhile: %d %s;"
                        + " pushes succeed again after %d ms%n", round, primary, ha.primary(),
                load.pushers.refused() - refusedBefore, load.pushers.refusals(),
                load.firstAcknowledgedAfter(killedAt) / 1_000_000);
        ha.restart(primary); // comes back as the standby of the new primary
    }

    /** Devices on every node, pushers on every node, and the final check. */
    private record Load(Cluster cluster, ClusterPushers pushers, Map<String, List<String>> scopesByDevice) {

        static Load start(Cluster cluster) throws Exception {
            cluster.node(0).api().createBizType("ORDER", "APPOINTED", "USER");
            Map<String, List<String>> scopes = new LinkedHashMap<>();
            for (int u = 0; u < USERS; u++) {
                for (int d = 0; d < 2; d++) {
                    String deviceId = "u" + u + "-d" + d;
                    cluster.connect(deviceId, "user" + u, (u + d) % 3, "ORDER");
                    scopes.put(deviceId, List.of(DeliveryChecker.scope("ORDER", "USER", "user" + u)));
                }
            }
            ClusterTest.awaitSessions(cluster, USERS * 2);
            return new Load(cluster, new ClusterPushers(cluster, 3, USERS), scopes);
        }

        /** Nanoseconds from {@code since} to the first push acknowledged after it. */
        long firstAcknowledgedAfter(long since) {
            return pushers.firstAcknowledgedAfter(since) - since;
        }

        void finish() throws Exception {
            pushers.close();
            ClusterTest.awaitCaughtUp(cluster.checker, scopesByDevice);
            DeliveryChecker.Report report = cluster.checker.check(scopesByDevice);
            System.out.printf("failover test: acknowledged=%d refusals=%s %s%n", pushers.acknowledged(),
                    pushers.refusals(), report);
            assertThat(report.clean()).as(report.toString()).isTrue();
            assertThat(pushers.refusals().keySet()).as("a refusal says the store is unavailable, and is retryable")
                    .isSubsetOf("503 STORE_UNAVAILABLE");
        }
    }
}
