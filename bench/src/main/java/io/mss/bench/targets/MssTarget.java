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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * MSS as a child process ({@code io.mss.cli.Main server}) on the embedded store, with fsync on (its
 * default) or off. Pushes go through the HTTP API; devices connect with {@link MssDevices}.
 * The server list is a list so that a cluster run can start several nodes with extra environment.
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
    private final String apiKey = randomHex(24);
    private final String tokenSecret = randomHex(32);
    private final TokenVerifier tokens = new TokenVerifier(tokenSecret, Clock.systemUTC());
    private final List<ServerProcess> nodes = new ArrayList<>();
    private ClientLoop loop;
    private ClientLoop httpLoop;
    private MssDevices devices;
    private HttpPushClient http;

    public MssTarget(String name, boolean fsync, Map<String, String> extraEnv) {
        this.name = name;
        this.fsync = fsync;
        this.extraEnv = extraEnv;
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
        Path dataDir = Files.createDirectories(workDir.resolve("data"));
        // one server holds every device: no per-address cap, and the benchmark's own heap limit
        Path config = workDir.resolve("mss.yaml");
        Files.writeString(config, "max-connections-per-ip: 0\n");
        int syncPort = Loopback.freePort();
        int httpPort = Loopback.freePort();
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-Xlog:gc:file=" + workDir.resolve("gc.log"), "-cp", System.getProperty("java.class.path"), "io.mss.cli.Main", "server",
                "--config", config.toString(), "--data-dir", dataDir.toString(), "--bind", "127.0.0.1",
                "--sync-port", String.valueOf(syncPort), "--http-port", String.valueOf(httpPort));
        Map<String, String> env = new HashMap<>(extraEnv);
        env.put("MSS_API_KEY", apiKey);
        env.put("MSS_TOKEN_SECRET", tokenSecret);
        env.put("MSS_FSYNC", String.valueOf(fsync));
        ServerProcess node = ServerProcess.start(name, command, env, workDir);
        nodes.add(node);
        node.awaitPort(httpPort, 60_000);
        node.awaitPort(syncPort, 60_000);
        loop = new ClientLoop(2);
        httpLoop = new ClientLoop(1);
        http = new HttpPushClient(httpLoop, new InetSocketAddress("127.0.0.1", httpPort), apiKey, PUSH_CONNECTIONS);
        devices = new MssDevices(loop, dataDir.resolve("tls").resolve("server.crt"),
                new InetSocketAddress("127.0.0.1", syncPort), id -> tokens.mint(id, null, 86_400));
    }

    @Override
    public long serverPid() {
        return nodes.get(0).pid();
    }

    @Override
    public void prepare(Workload workload, List<String> deviceIds) throws Exception {
        for (String bizType : bizTypes(workload)) {
            boolean global = bizType.equals(GLOBAL);
            Map<String, Object> body = Map.of("id", bizType, "range", global ? "GLOBAL" : "APPOINTED", "target", "DEVICE");
            HttpPushClient.Answer answer = http.post("/api/v1/biz-types", JSON.writeValueAsString(body)).get(30, TimeUnit.SECONDS);
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
        return devices.connect(deviceId, sourceIndex, bizTypes(workload), receiver);
    }

    @Override
    public CompletableFuture<Void> disconnect(String deviceId) {
        return devices.disconnect(deviceId);
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
            return http.post(path, JSON.writeValueAsString(body)).thenApply(answer -> {
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
        return devices == null ? -1 : devices.wireBytes();
    }

    @Override
    public void close() {
        if (devices != null) {
            devices.close();
        }
        if (loop != null) {
            loop.close();
        }
        if (http != null) {
            http.close();
        }
        if (httpLoop != null) {
            httpLoop.close();
        }
        nodes.forEach(ServerProcess::close);
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
