package io.mss.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three MSS nodes on the highly available services ({@link HaServices}: PostgreSQL under Patroni
 * with a synchronous standby, Redis under three sentinels), each part killed with SIGKILL under
 * push load with devices on all three nodes. Whatever a push was answered OK with is delivered:
 * nothing lost, duplicated or misordered; pushes refused meanwhile are counted, and the time until
 * pushes succeed again is printed.
 *
 * <p>The services are started once for the class (they take ~10 s to come up and a synchronous
 * standby); each test restarts what it killed, and the next one waits until the setup is whole
 * again: a primary with a synchronous standby, a Redis master named by the sentinels. Each test
 * runs its own three MSS nodes on a schema of its own.
 */
class ClusterFailoverTest {
    private static final int USERS = 6;
    private static HaServices ha;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startServices() throws Exception {
        ha = HaServices.start();
    }

    @AfterAll
    static void stopServices() throws Exception {
        if (ha != null) {
            ha.close();
        }
    }

    @BeforeEach
    void servicesAreWhole() {
        ha.awaitWhole();
    }

    /** Rounds: {@code mss.failover.rounds} (default 1, {@code -Plong}: 10 primary failovers in a row). */
    @Test
    void sigkillOfThePostgresPrimaryPromotesTheStandbyAndLosesNothingAcknowledged() throws Exception {
        int rounds = Integer.getInteger("mss.failover.rounds", 1);
        try (Cluster cluster = Cluster.start(tmp, 3, ha.postgresUrl(), ha.redisUri(), 500)) {
            Load load = Load.start(cluster);
            for (int round = 1; round <= rounds; round++) {
                failOverPostgres(ha, load, round);
            }
            load.finish();
        }
    }

    @Test
    void sigkillOfTheRedisMasterPromotesTheReplicaAndDeliveryGoesOn() throws Exception {
        try (Cluster cluster = Cluster.start(tmp, 3, ha.postgresUrl(), ha.redisUri(), 500)) {
            Load load = Load.start(cluster);
            int master = ha.redisMaster();
            String killed = master == ha.redis1 ? "redis1" : "redis2";
            double busReconnectsBefore = cluster.metricSum("mss_bus_reconnects_total");
            ha.kill(killed);
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
            // the nodes' subscriptions moved to the new master by themselves, and say so
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    cluster.metricSum("mss_bus_reconnects_total") >= busReconnectsBefore + 1);
            System.out.printf("redis failover: mss_bus_reconnects_total summed over the nodes: %.0f%n",
                    cluster.metricSum("mss_bus_reconnects_total") - busReconnectsBefore);
            load.pushers.awaitMoreAcknowledged(200);
            load.finish();
            // pushes never depended on Redis: none was refused
            assertThat(load.pushers.refusals()).isEmpty();
            ha.restart(killed); // the sentinels make it a replica of the new master
        }
    }

    /**
     * With etcd's only member gone Patroni cannot renew the leader key, and without
     * {@code failsafe_mode} it cannot tell a partition from a dead DCS: after {@code retry_timeout}
     * it demotes the primary (PostgreSQL restarted read-only) rather than risk two primaries. No
     * node then finds a primary: pushes get 503 until etcd is back, when Patroni takes the leader
     * key again and promotes; nothing acknowledged is lost.
     */
    @Test
    void sigkillOfEtcdMakesPatroniDemoteThePrimaryUntilEtcdIsBack() throws Exception {
        try (Cluster cluster = Cluster.start(tmp, 3, ha.postgresUrl(), ha.redisUri(), 500)) {
            Load load = Load.start(cluster);
            load.pushers.awaitMoreAcknowledged(50);
            ha.kill("etcd");
            long killedAt = System.nanoTime();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> ha.primary() == null);
            System.out.printf("etcd down: Patroni demoted the primary after %d ms (%s)%n",
                    (System.nanoTime() - killedAt) / 1_000_000, ha.members());
            // at most the push each pusher had in flight when the primary went read-only is still answered OK
            long ackedAtDemotion = load.pushers.acknowledged();
            long refusedAtDemotion = load.pushers.refused();
            await().atMost(Duration.ofSeconds(60)).until(() -> load.pushers.refused() >= refusedAtDemotion + 12);
            assertThat(load.pushers.acknowledged()).as("no push is acknowledged while there is no primary")
                    .isLessThanOrEqualTo(ackedAtDemotion + 3);
            assertThat(ha.primary()).as("no primary while etcd is down (%s)", ha.members()).isNull();
            System.out.printf("etcd down: %d pushes refused %s, %s%n", load.pushers.refused() - refusedAtDemotion,
                    load.pushers.refusals(), ha.members());

            ha.restart("etcd");
            long back = System.nanoTime();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> ha.primary() != null);
            long promoted = System.nanoTime();
            load.pushers.awaitMoreAcknowledged(50);
            System.out.printf("etcd back: %s primary again after %d ms, pushes succeed again after %d ms%n",
                    ha.primary(), (promoted - back) / 1_000_000, load.firstAcknowledgedAfter(back) / 1_000_000);
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
        double failoversBefore = load.cluster.metricSum("mss_store_failovers_total");
        double reconnectsBefore = load.cluster.metricSum("mss_store_reconnects_total");
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
        // the writers that committed again did so on the promoted standby, and count it (summed:
        // which nodes had a push in the switch varies)
        await().atMost(Duration.ofSeconds(30)).until(() ->
                load.cluster.metricSum("mss_store_failovers_total") >= failoversBefore + 1
                        && load.cluster.metricSum("mss_store_reconnects_total") >= reconnectsBefore + 1);
        System.out.printf("postgres failover %d: mss_store_failovers_total +%.0f, mss_store_reconnects_total +%.0f"
                        + " (summed over the nodes)%n", round,
                load.cluster.metricSum("mss_store_failovers_total") - failoversBefore,
                load.cluster.metricSum("mss_store_reconnects_total") - reconnectsBefore);
        // 0 lost in this round: everything acknowledged so far reaches every device, while pushes go on
        Map<String, Set<Long>> upTo = load.cluster.checker.acknowledgedSoFar();
        await().atMost(Duration.ofSeconds(60)).until(() -> load.scopesByDevice.entrySet().stream().allMatch(e ->
                e.getValue().stream().allMatch(scope -> load.cluster.checker.caughtUp(e.getKey(), scope, upTo))));
        DeliveryChecker.Report report = load.cluster.checker.check(load.scopesByDevice, upTo);
        // a batch whose commit the kill left unanswered is settled on the promoted standby: stored as
        // written, or (not replicated) its scopes start new timelines and their devices restart (restarts=)
        System.out.printf("postgres failover %d: commits in doubt settled so far: stored %.0f, new timeline %.0f;"
                        + " %s%n", round,
                load.cluster.metricSum("mss_store_commits_in_doubt_total{outcome=\"stored\"}"),
                load.cluster.metricSum("mss_store_commits_in_doubt_total{outcome=\"new_timeline\"}"), report);
        assertThat(load.cluster.cleanOrRestartsExplained(report)).as("round %d: %s", round, report).isTrue();
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
            assertThat(cluster.cleanOrRestartsExplained(report)).as(report.toString()).isTrue();
            assertThat(pushers.refusals().keySet()).as("a refusal says the store is unavailable, and is retryable")
                    .isSubsetOf("503 STORE_UNAVAILABLE");
        }
    }
}
