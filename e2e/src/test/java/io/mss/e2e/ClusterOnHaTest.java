package io.mss.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * {@link ClusterTest}'s tests, unchanged, on the highly available services ({@link HaServices}:
 * PostgreSQL under Patroni with a synchronous standby, reached through the multi-host URL, and
 * Redis through three sentinels), started once for the class.
 */
class ClusterOnHaTest extends ClusterTest {
    private static HaServices ha;

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

    @Override
    Cluster cluster(int size) throws Exception {
        return Cluster.start(tmp, size, ha.postgresUrl(), ha.redisUri(), 3000);
    }
}
