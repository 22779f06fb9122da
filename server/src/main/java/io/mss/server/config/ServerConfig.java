package io.mss.server.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Everything the server can be told, read from one YAML file ({@code mss.yaml}), then
 * environment variables ({@code MSS_SYNC_PORT}, ...), then command-line flags; validated at
 * start. YAML keys are kebab-case versions of the field names ({@code sync-port}).
 */
public final class ServerConfig {
    public String dataDir = "./data";
    public String bindHost = "0.0.0.0";
    /**
     * The host name devices and operators reach this node by, shown in the node list; empty: the
     * bind host, or this machine's host name when it binds every address (0.0.0.0, ::).
     */
    public String advertisedHost = "";
    public int syncPort = 7443;
    public int httpPort = 7080;
    /**
     * The WebSocket transport ({@code wss://host:ws-port/sync}), for browsers and other
     * WebSocket clients; the same frames, handshake and limits as the sync port. -1: off.
     */
    public int wsPort = 7444;
    /**
     * Browser origins allowed to open the WebSocket, exactly as browsers send them
     * ({@code https://app.example.com}); {@code *} allows any. Always allowed: the console's own
     * origin (the request's host on the HTTP port) and clients that send no Origin (not browsers).
     */
    public List<String> wsAllowedOrigins = new ArrayList<>();
    /**
     * Plain {@code ws://} instead of TLS on the WebSocket port, bound to 127.0.0.1 whatever
     * bind-host says: for local development only.
     */
    public boolean wsInsecureLoopback = false;

    /** fsync every group commit before answering OK. Off only for benchmarks, labelled as such. */
    public boolean fsync = true;

    /** PEM files; generated in {@code <data-dir>/tls} when both are empty. */
    public String tlsCert = "";
    public String tlsKey = "";

    public int heartbeatSeconds = 30;
    /** A connection that has not completed TLS and Hello in this time is closed. */
    public int handshakeTimeoutSeconds = 10;
    public int maxFrameBytes = 1 << 20;
    public int maxPayloadChars = 4096;
    public int maxThirdMsgIdBytes = 99;
    public int maxRetentionDays = 365;
    /** Oplogs per SyncData frame; frames also stop growing near max-frame-bytes / 2. */
    public int maxOplogsPerFrame = 500;
    /** Outbound bytes buffered per connection before it counts as not writable. */
    public int writeBufferHighBytes = 256 * 1024;
    public int writeBufferLowBytes = 64 * 1024;
    /** Largest HTTP request body the push API reads. */
    public int maxRequestBytes = 64 * 1024;
    /**
     * A request body not complete this long after its headers is answered 408 and its connection
     * closed: a client sending a byte now and then holds no more than its own connection.
     */
    public int httpBodyTimeoutMs = 10_000;
    /**
     * TLS on the HTTP port (HTTPS, and HTTP/2 by ALPN), with the sync port's certificate
     * (tls-cert/tls-key, or the one generated in the data dir).
     */
    public boolean httpTls = false;

    /**
     * A session whose channel stays unwritable (its client does not read) this long is closed
     * with Error SLOW_CONSUMER (retry); its data stays in the store for the next connection.
     */
    public int slowConsumerTimeoutSeconds = 30;
    /** Open connections to the sync port from one IP address; beyond it a new one is closed at accept. 0: unlimited. */
    public int maxConnectionsPerIp = 1000;
    /** Every {@code /api/*} request must carry X-MSS-Timestamp and X-MSS-Signature (HMAC-SHA256). */
    public boolean requireSignedRequests = false;
    /** Push requests per second per API key (token bucket, burst of one second); 0: no limit. */
    public int pushRateLimitPerSecond = 0;

    /**
     * The business backend's session-validation webhook (mPaaS's user consistency check): asked
     * whether {@code Hello.user_id} and {@code Hello.session_id} belong together when the token
     * carries no {@code sub}. Empty: off, and such a Hello is refused.
     */
    public String sessionValidationUrl = "";
    /** How long one answer (valid or not) is reused for the same user and session; 0: never. */
    public int sessionValidationCacheSeconds = 300;
    public int sessionValidationTimeoutMs = 3000;

    /** How long the server waits for a bizType's upstream webhook before answering WEBHOOK_TIMEOUT. */
    public int upstreamTimeoutMs = 5000;
    /** Upstream messages being forwarded at once, server-wide; beyond it they are answered SERVER_BUSY. */
    public int upstreamMaxInFlight = 256;

    /** {@code GET /metrics} asks for an admin key too; off by default, as Prometheus scrapes without one. */
    public boolean metricsRequireKey = false;
    /** Where oplogs live: {@code rocksdb} (embedded, one node) or {@code postgres} (shared by a cluster). */
    public String store = "rocksdb";
    /** How nodes tell each other about commits: {@code local} (one node) or {@code redis}. */
    public String bus = "local";
    /** JDBC URL of the shared database, e.g. {@code jdbc:postgresql://db:5432/mss}. */
    public String postgresUrl = "";
    public String postgresUser = "postgres";
    public String postgresPassword = "";
    /** The schema holding MSS's tables; created and migrated at start. */
    public String postgresSchema = "mss";
    /** Database connections per node. */
    public int postgresPoolSize = 10;
    /** Lettuce URI of Redis, e.g. {@code redis://cache:6379}. */
    public String redisUri = "";
    /** This node's name in the cluster; empty: the host name and the sync port. */
    public String nodeId = "";
    /** Prefix of Redis keys and channels, so several clusters can share one Redis. */
    public String clusterName = "mss";
    /** How often live sessions are compared with the store, for anything the bus lost. */
    public int reconcileIntervalMs = 3000;
    /** How often this node refreshes its announcement in Redis; it expires after three. */
    public int nodeHeartbeatSeconds = 5;

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .setPropertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** Reads the YAML file when given (a missing default file is fine), then the environment. */
    public static ServerConfig load(Path yamlFile, Map<String, String> env) {
        ServerConfig config = new ServerConfig();
        if (yamlFile != null) {
            if (!Files.exists(yamlFile)) {
                throw new ConfigException("config file " + yamlFile + " does not exist");
            }
            try {
                config = YAML.readValue(yamlFile.toFile(), ServerConfig.class);
            } catch (com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException e) {
                throw new ConfigException(unknownSetting(yamlFile, e));
            } catch (com.fasterxml.jackson.databind.exc.InvalidFormatException e) {
                throw new ConfigException(badValue(yamlFile, e));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                // the parser's own words, without the dump of the source it appends
                throw new ConfigException("cannot read " + yamlFile + line(e) + ": " + e.getOriginalMessage());
            } catch (IOException e) {
                throw new ConfigException("cannot read " + yamlFile + ": " + e.getMessage());
            }
        }
        config.applyEnvironment(env);
        return config;
    }

    /** One line: which setting, where, what kind of value it takes and what it got. */
    private static String badValue(Path yamlFile, com.fasterxml.jackson.databind.exc.InvalidFormatException e) {
        String setting = e.getPath().isEmpty() ? "?" : e.getPath().get(e.getPath().size() - 1).getFieldName();
        Class<?> type = e.getTargetType();
        String kind = type == int.class || type == Integer.class ? "a whole number"
                : type == boolean.class || type == Boolean.class ? "true or false" : type.getSimpleName();
        return "setting '" + setting + "' in " + yamlFile + line(e) + " must be " + kind + ", got '" + e.getValue() + "'";
    }

    private static String line(com.fasterxml.jackson.core.JsonProcessingException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
    }

    /** One line: the unknown key, where it is, the closest valid one and every valid one. */
    private static String unknownSetting(Path yamlFile,
                                         com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException e) {
        List<String> valid = new ArrayList<>();
        e.getKnownPropertyIds().forEach(id -> valid.add(String.valueOf(id)));
        java.util.Collections.sort(valid);
        String key = e.getPropertyName();
        String closest = SettingNames.closest(key, valid);
        return "unknown setting '" + key + "' in " + yamlFile + line(e)
                + (closest == null ? "" : "; did you mean '" + closest + "'?")
                + " Valid settings: " + String.join(", ", valid);
    }

    private void applyEnvironment(Map<String, String> env) {
        dataDir = env.getOrDefault("MSS_DATA_DIR", dataDir);
        bindHost = env.getOrDefault("MSS_BIND_HOST", bindHost);
        advertisedHost = env.getOrDefault("MSS_ADVERTISED_HOST", advertisedHost);
        syncPort = intEnv(env, "MSS_SYNC_PORT", syncPort);
        httpPort = intEnv(env, "MSS_HTTP_PORT", httpPort);
        wsPort = intEnv(env, "MSS_WS_PORT", wsPort);
        if (env.containsKey("MSS_WS_ALLOWED_ORIGINS")) {
            wsAllowedOrigins = new ArrayList<>(List.of(env.get("MSS_WS_ALLOWED_ORIGINS").trim().split("\\s*,\\s*")));
            wsAllowedOrigins.removeIf(String::isEmpty);
        }
        if (env.containsKey("MSS_REQUIRE_SIGNED_REQUESTS")) {
            requireSignedRequests = Boolean.parseBoolean(env.get("MSS_REQUIRE_SIGNED_REQUESTS"));
        }
        store = env.getOrDefault("MSS_STORE", store);
        bus = env.getOrDefault("MSS_BUS", bus);
        postgresUrl = env.getOrDefault("MSS_POSTGRES_URL", postgresUrl);
        postgresUser = env.getOrDefault("MSS_POSTGRES_USER", postgresUser);
        postgresPassword = env.getOrDefault("MSS_POSTGRES_PASSWORD", postgresPassword);
        postgresSchema = env.getOrDefault("MSS_POSTGRES_SCHEMA", postgresSchema);
        postgresPoolSize = intEnv(env, "MSS_POSTGRES_POOL_SIZE", postgresPoolSize);
        redisUri = env.getOrDefault("MSS_REDIS_URI", redisUri);
        nodeId = env.getOrDefault("MSS_NODE_ID", nodeId);
        clusterName = env.getOrDefault("MSS_CLUSTER_NAME", clusterName);
        reconcileIntervalMs = intEnv(env, "MSS_RECONCILE_INTERVAL_MS", reconcileIntervalMs);
        if (env.containsKey("MSS_FSYNC")) {
            fsync = Boolean.parseBoolean(env.get("MSS_FSYNC"));
        }
    }

    private static int intEnv(Map<String, String> env, String name, int fallback) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(name + " must be a number, got '" + value + "'");
        }
    }

    /** Throws {@link ConfigException} listing every problem at once. */
    public ServerConfig validate() {
        List<String> problems = new ArrayList<>();
        port(problems, "sync-port", syncPort);
        port(problems, "http-port", httpPort);
        if (syncPort != 0 && syncPort == httpPort) {
            problems.add("sync-port and http-port must differ");
        }
        if (wsPort != -1) {
            port(problems, "ws-port", wsPort);
            if (wsPort != 0 && (wsPort == syncPort || wsPort == httpPort)) {
                problems.add("ws-port must differ from sync-port and http-port (or be -1 to turn the WebSocket transport off)");
            }
        }
        if (wsAllowedOrigins == null) {
            wsAllowedOrigins = new ArrayList<>();
        }
        for (String origin : wsAllowedOrigins) {
            if (!"*".equals(origin) && (origin == null || !origin.matches("https?://[^/\\s]+"))) {
                problems.add("ws-allowed-origins: '" + origin + "' is not an origin like https://app.example.com (scheme and host, no path), nor *");
            }
        }
        positive(problems, "heartbeat-seconds", heartbeatSeconds);
        positive(problems, "handshake-timeout-seconds", handshakeTimeoutSeconds);
        if (maxFrameBytes < 16 * 1024 || maxFrameBytes > 64 << 20) {
            problems.add("max-frame-bytes must be between 16384 and 67108864");
        }
        positive(problems, "max-payload-chars", maxPayloadChars);
        if (maxPayloadChars * 4L + 1024 > maxFrameBytes) {
            problems.add("max-payload-chars must fit in a frame: at most (max-frame-bytes - 1024) / 4");
        }
        positive(problems, "max-third-msg-id-bytes", maxThirdMsgIdBytes);
        positive(problems, "max-retention-days", maxRetentionDays);
        positive(problems, "max-oplogs-per-frame", maxOplogsPerFrame);
        positive(problems, "max-request-bytes", maxRequestBytes);
        positive(problems, "http-body-timeout-ms", httpBodyTimeoutMs);
        positive(problems, "slow-consumer-timeout-seconds", slowConsumerTimeoutSeconds);
        if (maxConnectionsPerIp < 0) {
            problems.add("max-connections-per-ip must be 0 (unlimited) or more");
        }
        if (pushRateLimitPerSecond < 0) {
            problems.add("push-rate-limit-per-second must be 0 (off) or more");
        }
        if (sessionValidationUrl == null) {
            sessionValidationUrl = "";
        }
        if (!sessionValidationUrl.isBlank() && !sessionValidationUrl.trim().matches("https?://\\S+")) {
            problems.add("session-validation-url must be an http:// or https:// URL, or empty to turn it off");
        }
        if (sessionValidationCacheSeconds < 0) {
            problems.add("session-validation-cache-seconds must be 0 (no caching) or more");
        }
        positive(problems, "session-validation-timeout-ms", sessionValidationTimeoutMs);
        positive(problems, "upstream-timeout-ms", upstreamTimeoutMs);
        positive(problems, "upstream-max-in-flight", upstreamMaxInFlight);
        if (writeBufferLowBytes <= 0 || writeBufferHighBytes <= writeBufferLowBytes) {
            problems.add("write-buffer-low-bytes must be positive and below write-buffer-high-bytes");
        }
        if (tlsCert.isBlank() != tlsKey.isBlank()) {
            problems.add("tls-cert and tls-key go together: give both or neither");
        }
        if (!"rocksdb".equals(store) && !"postgres".equals(store)) {
            problems.add("store must be rocksdb or postgres, got '" + store + "'");
        }
        if (!"local".equals(bus) && !"redis".equals(bus)) {
            problems.add("bus must be local or redis, got '" + bus + "'");
        }
        if ("redis".equals(bus) && !"postgres".equals(store)) {
            problems.add("bus: redis needs store: postgres (the nodes of a cluster share one database)");
        }
        if ("postgres".equals(store)) {
            if (postgresUrl == null || !postgresUrl.startsWith("jdbc:postgresql:")) {
                problems.add("postgres-url must be a jdbc:postgresql: URL when store is postgres");
            }
            if (postgresSchema == null || !postgresSchema.matches("[A-Za-z_][A-Za-z0-9_]{0,62}")) {
                problems.add("postgres-schema must be a plain identifier (letters, digits, _)");
            }
            if (postgresPoolSize < 2) {
                problems.add("postgres-pool-size must be at least 2");
            }
        }
        if ("redis".equals(bus)) {
            // redis-sentinel://: the master is asked of the sentinels on every (re)connect
            if (redisUri == null || !redisUri.matches("(rediss?|redis-sentinel)://\\S+")) {
                problems.add("redis-uri must be a redis://, rediss:// or redis-sentinel:// URI when bus is redis");
            }
            if (clusterName == null || !clusterName.matches("[A-Za-z0-9_.-]+")) {
                problems.add("cluster-name must be letters, digits, '.', '_' or '-'");
            }
            positive(problems, "node-heartbeat-seconds", nodeHeartbeatSeconds);
        }
        if ("postgres".equals(store)) {
            // with bus: local too: the reconciler is all that tells a node of another node's
            // commits, should several be pointed at one schema
            positive(problems, "reconcile-interval-ms", reconcileIntervalMs);
        }
        if (nodeId == null) {
            nodeId = "";
        }
        if (advertisedHost == null) {
            advertisedHost = "";
        }
        if (dataDir == null || dataDir.isBlank()) {
            problems.add("data-dir is required");
        }
        if (!problems.isEmpty()) {
            throw new ConfigException("invalid configuration:\n  - " + String.join("\n  - ", problems));
        }
        return this;
    }

    private static void port(List<String> problems, String name, int value) {
        if (value < 0 || value > 65535) {
            problems.add(name + " must be between 0 (any free port) and 65535");
        }
    }

    private static void positive(List<String> problems, String name, int value) {
        if (value <= 0) {
            problems.add(name + " must be positive");
        }
    }

    public Path dataPath() {
        return Path.of(dataDir).toAbsolutePath().normalize();
    }

    /** A configuration problem the operator must fix; the message says what. */
    public static final class ConfigException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ConfigException(String message) {
            super(message);
        }
    }
}
