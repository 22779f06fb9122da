package io.mss.server;

import io.mss.server.api.HttpApi;
import io.mss.server.auth.Secrets;
import io.mss.server.auth.SelfSignedCertificate;
import io.mss.server.auth.TokenVerifier;
import io.mss.server.config.ServerConfig;
import io.mss.server.gateway.GatewayServer;
import io.mss.server.cluster.ClusterBus;
import io.mss.server.cluster.LocalBus;
import io.mss.server.cluster.NodeInfo;
import io.mss.server.cluster.Reconciler;
import io.mss.server.cluster.RedisBus;
import io.mss.server.records.RecordRetention;
import io.mss.server.startup.StartupChecks;
import io.mss.server.records.RecordStore;
import io.mss.server.records.RocksDbRecordStore;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.OplogStore;
import io.mss.server.store.SyncPointStore;
import io.mss.server.store.postgres.PostgresStore;
import io.mss.server.webhook.ReceiptWebhook;
import io.mss.server.store.rocksdb.RocksDbStore;
import io.mss.server.sync.BatchingSyncPointWriter;
import io.mss.server.sync.StoreReader;
import io.mss.server.sync.SyncEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * One MSS node on the embedded store: RocksDB in the data dir, the TLS sync port and the
 * HTTP API. {@link #start} returns once both ports accept connections.
 */
public final class MssServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MssServer.class);
    /** How often acked sync points are written to a remote store. */
    private static final java.time.Duration SYNC_POINT_FLUSH = java.time.Duration.ofMillis(200);

    private final ServerConfig config;
    private final Secrets secrets;
    private final Path certFile;
    private final OplogStore store;
    private final BizTypeStore bizTypes;
    private final SyncEngine engine;
    private final GatewayServer gateway;
    private final HttpApi api;
    // operation records and receipt webhooks (set right after construction)
    private RecordStore records;
    private ClusterBus bus;
    private Reconciler reconciler;
    private RecordRetention recordRetention;
    private ReceiptWebhook receipts;
    private BatchingSyncPointWriter syncPointWriter;

    private MssServer(ServerConfig config, Secrets secrets, Path certFile, OplogStore store, BizTypeStore bizTypes,
                      SyncEngine engine, GatewayServer gateway, HttpApi api) {
        this.config = config;
        this.secrets = secrets;
        this.certFile = certFile;
        this.store = store;
        this.bizTypes = bizTypes;
        this.engine = engine;
        this.gateway = gateway;
        this.api = api;
    }

    public static MssServer start(ServerConfig config, Map<String, String> env) throws Exception {
        return start(config, env, Clock.systemUTC());
    }

    /**
     * @param clock the time of oplogs: createdAt, retention, validity windows (tests move it
     *              forward instead of waiting days); token expiry always uses the real time
     */
    public static MssServer start(ServerConfig config, Map<String, String> env, Clock clock) throws Exception {
        long t0 = System.nanoTime();
        config.validate();
        Path dataDir = config.dataPath().toAbsolutePath();
        try {
            Files.createDirectories(dataDir);
        } catch (java.io.IOException e) {
            throw new io.mss.server.startup.StartupException("cannot create the data dir " + dataDir + " (" + e
                    + "); choose another with --data-dir", e);
        }
        Secrets secrets = Secrets.loadOrCreate(dataDir, env);

        Path certFile;
        Path keyFile;
        if (config.tlsCert.isBlank()) {
            certFile = dataDir.resolve("tls").resolve(SelfSignedCertificate.CERT_FILE);
            keyFile = dataDir.resolve("tls").resolve(SelfSignedCertificate.KEY_FILE);
            if (SelfSignedCertificate.createIfMissing(certFile, keyFile)) {
                log.info("generated a self-signed TLS certificate: {} (clients trust it with --ca {})", certFile, certFile);
            }
        } else {
            certFile = Path.of(config.tlsCert);
            keyFile = Path.of(config.tlsKey);
            StartupChecks.tlsFilesReadable(certFile, keyFile);
        }

        OplogStore store;
        SyncPointStore syncPoints;
        BizTypeStore bizTypes;
        PostgresStore postgres = null;
        BatchingSyncPointWriter syncPointWriter = null;
        if ("postgres".equals(config.store)) {
            postgres = PostgresStore.open(new PostgresStore.Options(config.postgresUrl, config.postgresUser,
                    config.postgresPassword, config.postgresSchema, config.postgresPoolSize, 1024,
                    java.time.Duration.ofSeconds(2), clock, dataDir));
            store = postgres;
            // an ack must not wait for the database on an event loop: sync points go in batches
            syncPointWriter = new BatchingSyncPointWriter(postgres, SYNC_POINT_FLUSH);
            syncPoints = syncPointWriter;
            bizTypes = postgres;
        } else {
            RocksDbStore rocks;
            try {
                rocks = RocksDbStore.open(dataDir.resolve("store"),
                        RocksDbStore.Options.defaults().withFsync(config.fsync).withClock(clock));
            } catch (io.mss.server.store.StoreException e) {
                throw StartupChecks.storeFailure(e, dataDir, dataDir.resolve("store"));
            }
            store = rocks;
            syncPoints = rocks;
            bizTypes = rocks;
        }
        GatewayServer gateway = null;
        HttpApi api = null;
        RecordStore records = null;
        RecordRetention recordRetention = null;
        ReceiptWebhook receipts = null;
        ClusterBus bus = null;
        Reconciler reconciler = null;
        try {
            StartupChecks.portFree(config.bindHost, config.syncPort, "--sync-port");
            StartupChecks.portFree(config.bindHost, config.httpPort, "--http-port");
            if (config.wsPort > 0) {
                StartupChecks.portFree(config.wsInsecureLoopback ? "127.0.0.1" : config.bindHost, config.wsPort,
                        "--ws-port");
            }
            records = postgres != null ? postgres : RocksDbRecordStore.open(dataDir.resolve("records"));
            recordRetention = RecordRetention.start(records, clock);
            SyncEngine engine = new SyncEngine(store, syncPoints, bizTypes, clock, config.maxOplogsPerFrame,
                    config.maxFrameBytes);
            if (postgres != null) {
                // a PostgreSQL read waits for the network: sessions read on threads of their own,
                // as many as the pool has reader connections (more would only queue there)
                engine.useReader(StoreReader.pooled(config.postgresPoolSize - 1, 4096));
            }
            engine.startRetentionPurge(java.time.Duration.ofMinutes(10));
            store.meterInto(engine.metrics().bindJvmAndNetty());
            engine.metrics().connections(engine::sessionCount);
            engine.metrics().backlog(() -> engine.sessions().stream().mapToLong(io.mss.server.sync.Session::backlog).sum());
            // tokens expire in real time, whatever clock the oplogs run on
            TokenVerifier tokens = new TokenVerifier(secrets.tokenSecret(), Clock.systemUTC());
            String nodeId = !config.nodeId.isBlank() ? config.nodeId
                    : hostName() + ":" + (config.syncPort != 0 ? config.syncPort : ProcessHandle.current().pid());
            long startedAt = System.currentTimeMillis();
            java.util.concurrent.atomic.AtomicInteger syncPort = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger httpPort = new java.util.concurrent.atomic.AtomicInteger();
            String advertised = advertisedHost(config);
            java.util.function.Supplier<NodeInfo> self = () -> new NodeInfo(nodeId,
                    advertised + ":" + syncPort.get(), advertised + ":" + httpPort.get(), startedAt,
                    System.currentTimeMillis(), engine.sessionCount());
            if ("redis".equals(config.bus)) {
                // subscribed before the sync port takes a session: its backlog read comes after
                bus = RedisBus.connect(config.redisUri, config.clusterName, nodeId, self,
                        java.time.Duration.ofSeconds(config.nodeHeartbeatSeconds), engine.metrics());
                engine.useBus(bus);
                reconciler = new Reconciler(engine.dispatcher(), store::head, engine::reconcileConfigs,
                        java.time.Duration.ofMillis(config.reconcileIntervalMs), engine.metrics());
            } else {
                bus = new LocalBus(self);
                if (postgres != null) {
                    // one node on a shared database hears of no other node's commits; should
                    // another be pointed at the same schema by mistake, polling still finds them
                    reconciler = new Reconciler(engine.dispatcher(), store::head, engine::reconcileConfigs,
                            java.time.Duration.ofMillis(config.reconcileIntervalMs), engine.metrics());
                }
            }
            try {
                gateway = new GatewayServer(config, tokens, engine, certFile.toFile(), keyFile.toFile());
            } catch (Exception e) {
                throw StartupChecks.tlsFailure(StartupChecks.bindFailure(e, config.bindHost, config.syncPort,
                        "--sync-port"), certFile, keyFile);
            }
            syncPort.set(gateway.port());
            receipts = new ReceiptWebhook(engine::bizType);
            engine.addAckListener(receipts);
            api = new HttpApi(config, secrets.apiKey(), engine, bizTypes, records).withNodes(bus::nodes)
                    .withTokens(tokens, gateway::wsPort, !config.wsInsecureLoopback);
            if (config.httpTls) {
                api.withTls(certFile, keyFile); // the sync port's certificate: given, or generated in the data dir
            }
            if (postgres != null) {
                api.withDependency("postgres", postgres::healthy);
            }
            if ("redis".equals(config.bus)) {
                api.withDependency("redis", bus::healthy);
            }
            try {
                api.start();
            } catch (RuntimeException e) {
                throw StartupChecks.bindFailure(e, config.bindHost, config.httpPort, "--http-port");
            }
            httpPort.set(api.port());
            gateway.consolePort(api.port());
            bus.started();
            MssServer server = new MssServer(config, secrets, certFile, store, bizTypes, engine, gateway, api);
            server.records = records;
            server.recordRetention = recordRetention;
            server.receipts = receipts;
            server.bus = bus;
            server.reconciler = reconciler;
            server.syncPointWriter = syncPointWriter;
            server.announce((System.nanoTime() - t0) / 1_000_000);
            return server;
        } catch (Exception e) {
            if (api != null) {
                api.close();
            }
            if (gateway != null) {
                gateway.close();
            }
            if (reconciler != null) {
                reconciler.close();
            }
            if (bus != null) {
                bus.close();
            }
            if (receipts != null) {
                receipts.close();
            }
            if (recordRetention != null) {
                recordRetention.close();
            }
            if (records != null) {
                records.close();
            }
            if (syncPointWriter != null) {
                syncPointWriter.close();
            }
            store.close();
            throw e;
        }
    }

    /** A host others can connect to: 0.0.0.0 is where the node listens, not where it is reached. */
    private static String advertisedHost(ServerConfig config) {
        if (!config.advertisedHost.isBlank()) {
            return config.advertisedHost.trim();
        }
        String bind = config.bindHost;
        boolean wildcard = bind.isBlank() || "0.0.0.0".equals(bind) || "::".equals(bind) || "[::]".equals(bind);
        return wildcard ? hostName() : bind;
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "localhost";
        }
    }

    private void announce(long startMillis) {
        log.info("MSS started in {} ms: sync port {} (TLS, {}), WebSocket port {}, HTTP API port {}, data dir {}, fsync {},"
                        + " store {}, bus {}", startMillis, syncPort(), gateway.tlsProvider(),
                wsPort() < 0 ? "off" : wsPort() + (config.wsInsecureLoopback ? " (ws://127.0.0.1, no TLS)" : " (wss)"),
                httpPort(), config.dataPath(),
                config.fsync ? "on" : "OFF", config.store, config.bus);
        log.info("API key: {}", secrets.apiKeyGenerated() ? "generated into " + secrets.apiKeyFile()
                : (System.getenv(Secrets.API_KEY_ENV) != null ? "from " + Secrets.API_KEY_ENV : "read from " + secrets.apiKeyFile()));
        log.info("client token secret: {}", secrets.tokenSecretGenerated() ? "generated into " + secrets.tokenSecretFile()
                : (System.getenv(Secrets.TOKEN_SECRET_ENV) != null ? "from " + Secrets.TOKEN_SECRET_ENV : "read from " + secrets.tokenSecretFile()));
        log.info("TLS certificate: {}", certFile);
    }

    public int syncPort() {
        return gateway.port();
    }

    public int httpPort() {
        return api.port();
    }

    /** The WebSocket port (wss://, or ws:// on loopback); -1 when off. */
    public int wsPort() {
        return gateway.wsPort();
    }

    public Secrets secrets() {
        return secrets;
    }

    public Path certFile() {
        return certFile;
    }

    public SyncEngine engine() {
        return engine;
    }

    /** The sync configurations, for tools and tests that bypass the HTTP API. */
    public io.mss.server.store.BizTypeStore bizTypeStore() {
        return bizTypes;
    }

    @Override
    public void close() {
        api.close();
        gateway.close();
        if (reconciler != null) {
            reconciler.close();
        }
        bus.close();
        receipts.close();
        recordRetention.close();
        records.close();
        engine.close();
        if (syncPointWriter != null) {
            syncPointWriter.close();
        }
        store.close();
        log.info("MSS stopped");
    }
}
