package io.mss.e2e;

import io.mss.server.store.postgres.PostgresStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Several server processes sharing one PostgreSQL schema and one Redis: a cluster on loopback.
 * The schema and the Redis key prefix are this cluster's own, so runs never see each other;
 * the nodes share one TLS certificate, so a device trusts whichever node it reaches.
 */
final class Cluster implements AutoCloseable {
    static final String POSTGRES_URL = System.getenv().getOrDefault("MSS_TEST_POSTGRES_URL",
            "jdbc:postgresql://127.0.0.1:5432/test");
    static final String POSTGRES_USER = System.getenv().getOrDefault("MSS_TEST_POSTGRES_USER", "postgres");
    static final String REDIS_URI = System.getenv().getOrDefault("MSS_TEST_REDIS_URI", "redis://127.0.0.1:6379");
    private static final AtomicInteger CLUSTERS = new AtomicInteger();

    final List<ServerProcess> nodes = new ArrayList<>();
    final String postgresUrl;
    final String schema;
    final DeliveryChecker checker = new DeliveryChecker();
    private final Path dir;
    private final List<Device> devices = new ArrayList<>();

    private Cluster(Path dir, String postgresUrl) {
        this.dir = dir;
        this.postgresUrl = postgresUrl;
        this.schema = "e2e_" + ProcessHandle.current().pid() + "_" + CLUSTERS.incrementAndGet();
    }

    static Cluster start(Path dir, int size) throws IOException {
        return start(dir, size, POSTGRES_URL, REDIS_URI, 3000);
    }

    static Cluster start(Path dir, int size, String postgresUrl, String redisUri, int reconcileMillis)
            throws IOException {
        Cluster cluster = new Cluster(dir, postgresUrl);
        try {
            Path logs = Files.createDirectories(dir.resolve("logs"));
            for (int i = 0; i < size; i++) {
                Path nodeLogs = Files.createDirectories(logs.resolve("node" + i));
                ServerProcess node = new ServerProcess(dir.resolve("node" + i), nodeLogs);
                node.env.put("MSS_STORE", "postgres");
                node.env.put("MSS_BUS", "redis");
                node.env.put("MSS_POSTGRES_URL", postgresUrl);
                node.env.put("MSS_POSTGRES_USER", POSTGRES_USER);
                node.env.put("MSS_POSTGRES_SCHEMA", cluster.schema);
                node.env.put("MSS_REDIS_URI", redisUri);
                node.env.put("MSS_CLUSTER_NAME", cluster.schema);
                node.env.put("MSS_NODE_ID", "node" + i);
                node.env.put("MSS_RECONCILE_INTERVAL_MS", String.valueOf(reconcileMillis));
                if (i > 0) {
                    // one certificate for the whole cluster, as behind one DNS name
                    copyTree(cluster.nodes.get(0).dataDir.resolve("tls"), node.dataDir.resolve("tls"));
                }
                cluster.nodes.add(node);
                node.start();
            }
            return cluster;
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    ServerProcess node(int i) {
        return nodes.get(i);
    }

    /**
     * One sample of {@code /metrics}, e.g. {@code mss_store_failovers_total}, summed over the
     * nodes that run: which node's writer or bus saw an event first varies from run to run.
     */
    double metricSum(String sample) {
        double sum = 0;
        for (ServerProcess node : nodes) {
            if (node.alive()) {
                sum += MetricsAndLookupTest.value(node.api().metrics(), sample);
            }
        }
        return sum;
    }

    /**
     * The report is clean; a device told to start over is accepted only where a writer settled a
     * commit in doubt on a new timeline (which tells exactly the devices of those scopes
     * FULL_UPDATE with restart), never otherwise.
     */
    boolean cleanOrRestartsExplained(DeliveryChecker.Report report) {
        double newTimelines = metricSum("mss_store_commits_in_doubt_total{outcome=\"new_timeline\"}");
        return newTimelines > 0 ? report.cleanAcrossRestarts() : report.clean();
    }

    /** Connects an SDK device to a node; the same state dir for the same deviceId, as on a phone. */
    Device connect(String deviceId, String userId, int node, String... bizTypes) {
        ServerProcess server = nodes.get(node);
        Device device = new Device(deviceId, userId, server.syncPort, server.certFile().toFile(),
                dir.resolve("state-" + deviceId), checker, bizTypes);
        device.client.appToForeground();
        devices.add(device);
        return device;
    }

    /** The app moves to another node (its node died): closes the client, opens one on the new node. */
    Device move(Device device, String userId, int node, String... bizTypes) throws IOException {
        device.close();
        devices.remove(device);
        return connect(device.deviceId, userId, node, bizTypes);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.copy(file, to.resolve(file.getFileName()));
            }
        }
    }

    @Override
    public void close() throws IOException {
        for (Device device : devices) {
            device.close();
        }
        for (ServerProcess node : nodes) {
            node.close();
        }
        try {
            PostgresStore.dropSchema(postgresUrl, POSTGRES_USER, "", schema);
        } catch (RuntimeException e) {
            // the database of an outage test may be gone already; its directory goes with the test
        }
    }
}
