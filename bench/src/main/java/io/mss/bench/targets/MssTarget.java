package io.mss.bench.targets;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.mss.bench.client.ClientLoop;
import io.mss.bench.client.HttpPushClient;
import io.mss.bench.client.MssDevices;
import io.mss.server.auth.TokenVerifier;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.TimeUnit;

/**
 * MSS as a child process ({@code io.mss.cli.Main server}) on the embedded store, with fsync on (its
 * default) or off; or as a cluster of several such processes sharing a PostgreSQL schema and a Redis
 * key prefix of their own. Pushes go through the HTTP API (round-robin over the nodes); devices connect
 * with {@link MssDevices}, device {@code i} to node {@code i % nodes}, so with several nodes most
 * deliveries cross the bus.
 */
public final class MssTarget implements Target {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String INBOX = "BENCH-INBOX";
    static final String GLOBAL = "BENCH-ALL";
    /** Keep-alive connections of the business server to the push API. */
    static final int PUSH_CONNECTIONS = 64;

    private final String name;
    private final boolean fsync;
    private final Map<String, String> extraEnv;
    private final Pinning pinning;
    private final String apiKey = randomHex(24);
    private final String tokenSecret = randomHex(32);
    private final TokenVerifier tokens = new TokenVerifier(tokenSecret, Clock.systemUTC());
    private final int nodeCount;
    /** Null for the embedded store. */
    private final ClusterServices cluster;
    /** This run's PostgreSQL schema, Redis key prefix and PostgreSQL application name. */
    private final String clusterName;
    private final List<ServerProcess> nodes = new ArrayList<>();
    private final List<HttpPushClient> http = new ArrayList<>();
    private final List<MssDevices> devicesByNode = new ArrayList<>();
    private final Map<String, MssDevices> deviceNode = new ConcurrentHashMap<>();
    private final AtomicInteger nextNode = new AtomicInteger();
    private final Set<String> prepared = ConcurrentHashMap.newKeySet();
    private ClientLoop loop;
    private ClientLoop httpLoop;

    public MssTarget(String name, boolean fsync, Map<String, String> extraEnv, Pinning pinning) {
        this(name, fsync, extraEnv, pinning, 1, null);
    }

    private MssTarget(String name, boolean fsync, Map<String, String> extraEnv, Pinning pinning, int nodeCount,
                      ClusterServices cluster) {
        this.name = name;
        this.fsync = fsync;
        this.extraEnv = extraEnv;
        this.pinning = pinning;
        this.nodeCount = nodeCount;
        this.cluster = cluster;
        this.clusterName = cluster == null ? null : ClusterServices.freshName();
    }

    /** {@code nodes} MSS nodes on PostgreSQL and Redis: a fresh schema and key prefix, dropped on close. */
    public static MssTarget cluster(String name, int nodes, ClusterServices services) {
        return new MssTarget(name, true, Map.of(), Pinning.NONE, nodes, services);
    }

    public int nodeCount() {
        return nodeCount;
    }

    /** The PostgreSQL application name of this cluster's connections, or null on the embedded store. */
    public String postgresApplicationName() {
        return clusterName;
    }

    public ClusterServices clusterServices() {
        return cluster;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean isJvm() {
        return true;
    }

    @Override
    public void start(Path workDir) throws Exception {
        Files.createDirectories(workDir);
        // one certificate for every node, as behind one DNS name: a device trusts whichever node it reaches
        Certificates tls = Certificates.create(workDir.resolve("tls"));
        // one server holds every device: no per-address cap, and the benchmark's own heap limit
        Path config = workDir.resolve("mss.yaml");
        Files.writeString(config, "max-connections-per-ip: 0\n");
        loop = new ClientLoop(2);
        httpLoop = new ClientLoop(1);
        for (int i = 0; i < nodeCount; i++) {
            Path nodeDir = nodeCount == 1 ? workDir : Files.createDirectories(workDir.resolve("node" + i));
            Path dataDir = Files.createDirectories(nodeDir.resolve("data"));
            Path nodeTls = Files.createDirectories(dataDir.resolve("tls"));
            Files.copy(tls.cert(), nodeTls.resolve(tls.cert().getFileName()));
            Files.copy(tls.key(), nodeTls.resolve(tls.key().getFileName()));
            int syncPort = Loopback.freePort();
            int httpPort = Loopback.freePort();
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx2g", "-Xlog:gc:file=" + nodeDir.resolve("gc.log")));
            command.addAll(pinning.mssJvmOptions());
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.mss.cli.Main", "server",
                    "--config", config.toString(), "--data-dir", dataDir.toString(), "--bind", "127.0.0.1",
                    "--sync-port", String.valueOf(syncPort), "--http-port", String.valueOf(httpPort)));
            Map<String, String> env = new HashMap<>(extraEnv);
            env.put("MSS_API_KEY", apiKey);
            env.put("MSS_TOKEN_SECRET", tokenSecret);
            env.put("MSS_FSYNC", String.valueOf(fsync));
            env.put("MSS_WS_PORT", "-1"); // the benchmarks measure the sync port; several nodes share a host
            if (cluster != null) {
                env.put("MSS_STORE", "postgres");
                env.put("MSS_BUS", "redis");
                env.put("MSS_POSTGRES_URL", cluster.postgresUrlFor(clusterName));
                env.put("MSS_POSTGRES_USER", cluster.postgresUser());
                env.put("MSS_POSTGRES_SCHEMA", clusterName);
                env.put("MSS_REDIS_URI", cluster.redisUri());
                env.put("MSS_CLUSTER_NAME", clusterName);
                env.put("MSS_NODE_ID", "node" + i);
            }
            String nodeName = nodeCount == 1 ? name : name + "-node" + i;
            // started one after the other: the first node creates and migrates the schema
            ServerProcess node = ServerProcess.start(nodeName, pinning.server(command), env, nodeDir);
            nodes.add(node);
            node.awaitPort(httpPort, 60_000);
            node.awaitPort(syncPort, 60_000);
            http.add(new HttpPushClient(httpLoop, new InetSocketAddress("127.0.0.1", httpPort), apiKey,
                    Math.max(1, PUSH_CONNECTIONS / nodeCount)));
            devicesByNode.add(new MssDevices(loop, tls.cert(), new InetSocketAddress("127.0.0.1", syncPort),
                    id -> tokens.mint(id, null, 86_400)));
        }
    }

    @Override
    public long serverPid() {
        return nodes.get(0).pid();
    }

    @Override
    public List<Long> serverPids() {
        return nodes.stream().map(ServerProcess::pid).toList();
    }

    @Override
    public void prepare(Workload workload, List<String> deviceIds) throws Exception {
        for (String bizType : bizTypes(workload)) {
            if (!prepared.add(bizType)) {
                continue; // a scenario made of several (cluster: ingest, then fan-out) prepares twice
            }
            boolean global = bizType.equals(GLOBAL);
            Map<String, Object> body = Map.of("id", bizType, "range", global ? "GLOBAL" : "APPOINTED", "target", "DEVICE");
            HttpPushClient.Answer answer = http.get(0).post("/api/v1/biz-types", JSON.writeValueAsString(body)).get(30, TimeUnit.SECONDS);
            if (answer.status() != 201) {
                throw new IOException("cannot create bizType " + bizType + ": " + answer.status() + " " + answer.body());
            }
        }
    }

    static List<String> bizTypes(Workload workload) {
        return switch (workload) {
            case INBOX, IDLE -> List.of(INBOX);
            case BROADCAST -> List.of(GLOBAL);
            case TOPICS -> {
                List<String> list = new ArrayList<>();
                for (int i = 0; i < Workload.TOPIC_COUNT; i++) {
                    list.add(topic(i));
                }
                yield list;
            }
        };
    }

    static String topic(int i) {
        return "BENCH-T" + i;
    }

    @Override
    public CompletableFuture<Void> connect(String deviceId, int sourceIndex, Workload workload, Receiver receiver) {
        MssDevices node = deviceNode.computeIfAbsent(deviceId, id -> devicesByNode.get(sourceIndex % devicesByNode.size()));
        return node.connect(deviceId, sourceIndex, bizTypes(workload), receiver);
    }

    @Override
    public CompletableFuture<Void> disconnect(String deviceId) {
        MssDevices node = deviceNode.get(deviceId);
        return node == null ? CompletableFuture.completedFuture(null) : node.disconnect(deviceId);
    }

    @Override
    public CompletableFuture<Void> publish(String deviceId, int topic, String payload) {
        Map<String, Object> body = order(deviceId, topic, payload);
        return send("/api/v1/push", body);
    }

    private static Map<String, Object> order(String deviceId, int topic, String payload) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("bizType", topic < 0 ? INBOX : topic(topic));
        body.put("linkToken", deviceId);
        body.put("payload", payload);
        return body;
    }

    @Override
    public CompletableFuture<Void> publishBatch(List<String> deviceIds, int topic, List<String> payloads) {
        List<Map<String, Object>> orders = new ArrayList<>(deviceIds.size());
        for (int i = 0; i < deviceIds.size(); i++) {
            orders.add(order(deviceIds.get(i), topic, payloads.get(i)));
        }
        return send("/api/v1/push/batch", Map.of("orders", orders)).thenApply(v -> null);
    }

    @Override
    public CompletableFuture<Void> broadcast(String payload) {
        return send("/api/v1/push/global", Map.of("bizType", GLOBAL, "payload", payload));
    }

    private CompletableFuture<Void> send(String path, Object body) {
        try {
            HttpPushClient node = http.get(Math.floorMod(nextNode.getAndIncrement(), http.size()));
            return node.post(path, JSON.writeValueAsString(body)).thenApply(answer -> {
                // a batch answers 200 with a result per order; a failed order names its resultCode
                if (answer.status() != 200 || answer.body().contains("\"success\":false")) {
                    throw new IllegalStateException("push refused: " + answer.status() + " " + abbreviate(answer.body()));
                }
                return null;
            });
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static String abbreviate(String text) {
        return text.length() > 300 ? text.substring(0, 300) + "..." : text;
    }

    @Override
    public long deviceWireBytes() {
        return devicesByNode.isEmpty() ? -1 : devicesByNode.stream().mapToLong(MssDevices::wireBytes).sum();
    }

    @Override
    public void close() {
        devicesByNode.forEach(MssDevices::close);
        if (loop != null) {
            loop.close();
        }
        http.forEach(HttpPushClient::close);
        if (httpLoop != null) {
            httpLoop.close();
        }
        nodes.forEach(ServerProcess::close);
        if (cluster != null) {
            cluster.dropSchema(clusterName);
        }
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
