package io.mss.server.sync;

import io.mss.protocol.Frames;
import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.CommandType;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import io.mss.server.auth.SelfSignedCertificate;
import io.mss.server.auth.TokenVerifier;
import io.mss.server.biz.BizType;
import io.mss.server.config.ServerConfig;
import io.mss.server.gateway.GatewayServer;
import io.mss.server.store.ForwardingOplogStore;
import io.mss.server.store.Scope;
import io.mss.server.store.ScopeHead;
import io.mss.server.store.SyncPointStore;
import io.mss.server.store.postgres.PostgresStore;
import io.netty.util.concurrent.FastThreadLocalThread;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * On PostgreSQL no store read of a session runs on a Netty event loop: the sync point lookup of
 * a Hello, the heads at session start, the drains of a lagging session (more than one frame of
 * backlog), the sync point and head of a bizType created while the client is connected, the head
 * check of an ack above what the session knows, the head after a config change. A real gateway
 * (TLS, its own event loops) serves a real connection; the store is the machine's PostgreSQL
 * ({@code MSS_TEST_POSTGRES_URL}) behind a wrapper that notes every read and the thread it ran on.
 */
class PostgresSessionReadsOffEventLoopTest {
    private static final String URL = System.getenv().getOrDefault("MSS_TEST_POSTGRES_URL",
            "jdbc:postgresql://127.0.0.1:5432/test");
    private static final String USER = System.getenv().getOrDefault("MSS_TEST_POSTGRES_USER", "postgres");
    private static final String PASSWORD = System.getenv().getOrDefault("MSS_TEST_POSTGRES_PASSWORD", "");

    @TempDir
    Path dir;
    private final String schema = "offloop_" + ProcessHandle.current().pid();
    private PostgresStore postgres;
    private ReadRecorder store;
    private BatchingSyncPointWriter syncPoints;
    private SyncEngine engine;
    private GatewayServer gateway;
    private TokenVerifier tokens;
    private Path cert;

    @BeforeEach
    void start() throws Exception {
        PostgresStore.dropSchema(URL, USER, PASSWORD, schema);
        postgres = PostgresStore.open(PostgresStore.Options.of(URL, USER, PASSWORD, schema));
        store = new ReadRecorder(postgres);
        syncPoints = new BatchingSyncPointWriter(store, Duration.ofMillis(50));
        // five oplogs a frame: a backlog of twelve takes three drains
        engine = new SyncEngine(store, syncPoints, postgres, Clock.systemUTC(), 5, 1 << 20);
        engine.useReader(StoreReader.pooled(4, 1024));
        cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        SelfSignedCertificate.createIfMissing(cert, key);
        ServerConfig config = new ServerConfig();
        config.bindHost = "127.0.0.1";
        config.syncPort = 0;
        String secret = "s".repeat(TokenVerifier.MIN_SECRET_BYTES);
        tokens = new TokenVerifier(secret, Clock.systemUTC());
        gateway = new GatewayServer(config, tokens, engine, cert.toFile(), key.toFile());
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (syncPoints != null) {
            syncPoints.close();
        }
        if (postgres != null) {
            postgres.close();
        }
        PostgresStore.dropSchema(URL, USER, PASSWORD, schema);
    }

    @Test
    void noSessionReadRunsOnAnEventLoop() throws Exception {
        postgres.put(BizType.of("ORDER", BizType.Range.APPOINTED, BizType.Target.USER));
        for (int i = 1; i <= 12; i++) {
            engine.push(new SyncEngine.Push("ORDER", "alice", "o" + i, "t" + i)).join();
        }
        long epoch = postgres.head(Scope.user("ORDER", "alice")).epoch();
        try (Connection phone = new Connection(gateway.port(), cert)) {
            phone.send(ClientFrame.newBuilder().setHello(Hello.newBuilder()
                    .setMinVersion(ProtocolVersion.MAX).setMaxVersion(ProtocolVersion.MAX)
                    .setToken(tokens.mint("phone", "alice", 600)).setDeviceId("phone")
                    .addBizTypes("ORDER").addBizTypes("LATER")).build());
            ServerFrame welcome = phone.read();
            assertThat(welcome.hasWelcome()).as("%s", welcome).isTrue();
            assertThat(welcome.getWelcome().getUnknownBizTypesList()).containsExactly("LATER");

            // the catch-up: twelve oplogs in frames of five, read ahead off the loop
            assertThat(phone.oplogsUntil(12)).extracting(Oplog::getId).containsExactly(
                    1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L);
            phone.ack("ORDER", ScopeKind.USER, epoch, 12);

            // live, then a bizType created while connected: its sync point and head are read for it
            engine.push(new SyncEngine.Push("ORDER", "alice", "o13", "t13")).join();
            assertThat(phone.oplogsUntil(13)).extracting(Oplog::getId).containsExactly(13L);
            postgres.put(BizType.of("LATER", BizType.Range.APPOINTED, BizType.Target.DEVICE));
            engine.push(new SyncEngine.Push("LATER", "phone", "l1", "l1")).join();
            engine.configChanged("LATER");
            ServerFrame later = phone.readUntil(frame -> frame.hasSyncData() && frame.getSyncData().getBatchesList()
                    .stream().anyMatch(batch -> batch.getBizType().equals("LATER")));
            assertThat(later.getSyncData().getBatches(0).getOplogs(0).getPayload()).isEqualTo("l1");

            // a config change reads the scope's head again
            postgres.put(new BizType("ORDER", "orders", BizType.Range.APPOINTED, BizType.Target.USER, true, true, 7,
                    BizType.RePushMode.ALL, 0, BizType.Status.ONLINE, null, null));
            engine.configChanged("ORDER");
            // an ack above anything the scope has: the head is read off the loop, then the cursor restarts
            phone.ack("ORDER", ScopeKind.USER, epoch, 1000);
            ServerFrame restart = phone.readUntil(ServerFrame::hasCommand);
            assertThat(restart.getCommand().getType()).isEqualTo(CommandType.FULL_UPDATE);
            assertThat(restart.getCommand().getRestart()).isTrue();
        }

        assertThat(store.onEventLoop).as("store reads that ran on an event loop thread").isEmpty();
        assertThat(store.reads.keySet()).as("the reads this test makes sessions do")
                .contains("position", "head", "read", "lastId");
    }

    /** Notes every read and, apart, those made on a Netty event loop thread; writes pass through. */
    private static final class ReadRecorder extends ForwardingOplogStore implements SyncPointStore {
        private final PostgresStore postgres;
        final Map<String, Set<String>> reads = new ConcurrentHashMap<>();
        final List<String> onEventLoop = new java.util.concurrent.CopyOnWriteArrayList<>();

        ReadRecorder(PostgresStore store) {
            super(store);
            this.postgres = store;
        }

        private void read(String what, Object of) {
            Thread thread = Thread.currentThread();
            reads.computeIfAbsent(what, k -> ConcurrentHashMap.newKeySet()).add(thread.getName());
            // Netty's event loops run on FastThreadLocalThreads; the reader's and the test's threads are plain
            if (thread instanceof FastThreadLocalThread) {
                onEventLoop.add(what + "(" + of + ") on " + thread.getName());
            }
        }



        @Override
        public List<io.mss.server.store.Oplog> read(Scope scope, long afterId, int maxCount) {
            read("read", scope);
            return store.read(scope, afterId, maxCount);
        }

        @Override
        public ScopeHead head(Scope scope) {
            read("head", scope);
            return store.head(scope);
        }

        @Override
        public long lastId(Scope scope) {
            read("lastId", scope);
            return store.lastId(scope);
        }

        @Override
        public List<Scope> scopes(String bizType) {
            read("scopes", bizType);
            return store.scopes(bizType);
        }

        @Override
        public boolean hasData(String bizType) {
            read("hasData", bizType);
            return store.hasData(bizType);
        }





        @Override
        public Position position(String deviceId, Scope scope) {
            read("position", scope);
            return postgres.position(deviceId, scope);
        }

        @Override
        public void advance(String deviceId, Scope scope, long epoch, long id) {
            postgres.advance(deviceId, scope, epoch, id);
        }

        @Override
        public void reset(String deviceId, Scope scope, long epoch, long id) {
            postgres.reset(deviceId, scope, epoch, id);
        }

        @Override
        public List<DeviceSyncPoint> list(Scope scope) {
            read("list", scope);
            return postgres.list(scope);
        }

        @Override
        public void close() {
            // the test closes the PostgreSQL store itself
        }
    }

    /** A hand-driven TLS connection to the gateway. */
    private static final class Connection implements AutoCloseable {
        private final SSLSocket socket;
        private final InputStream in;
        private final OutputStream out;

        Connection(int port, Path certFile) throws Exception {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            try (InputStream pem = Files.newInputStream(certFile)) {
                trust.setCertificateEntry("mss", (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(pem));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            socket = (SSLSocket) context.getSocketFactory().createSocket("localhost", port);
            socket.setSoTimeout(10_000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        void send(ClientFrame frame) throws IOException {
            Frames.write(out, frame);
            out.flush();
        }

        void ack(String bizType, ScopeKind scope, long epoch, long id) throws IOException {
            send(ClientFrame.newBuilder().setAck(Ack.newBuilder().addSyncPoints(SyncPoint.newBuilder()
                    .setBizType(bizType).setScope(scope).setEpoch(epoch).setId(id))).build());
        }

        ServerFrame read() throws IOException {
            byte[] body = Frames.read(in, Frames.DEFAULT_MAX_FRAME_BYTES);
            assertThat(body).as("the server closed the connection").isNotNull();
            return ServerFrame.parseFrom(body);
        }

        ServerFrame readUntil(Predicate<ServerFrame> wanted) throws IOException {
            while (true) {
                ServerFrame frame = read();
                if (wanted.test(frame)) {
                    return frame;
                }
            }
        }

        /** The oplogs of the SyncData frames read until one with {@code lastId} came. */
        List<Oplog> oplogsUntil(long lastId) throws IOException {
            List<Oplog> oplogs = new ArrayList<>();
            while (oplogs.isEmpty() || oplogs.get(oplogs.size() - 1).getId() < lastId) {
                ServerFrame frame = read();
                if (frame.hasSyncData()) {
                    frame.getSyncData().getBatchesList().forEach(batch -> oplogs.addAll(batch.getOplogsList()));
                }
            }
            return oplogs;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
