package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mss.client.internal.ScopeKey;
import io.mss.client.internal.SyncPointStore;
import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.BizBatch;
import io.mss.protocol.v1.Command;
import io.mss.protocol.v1.CommandType;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncData;
import io.mss.protocol.v1.SyncPoint;
import io.mss.protocol.v1.Welcome;

import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client against a scripted TLS server: handshake, delivery, acks, reconnects. */
class MssClientTlsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    static File certDir;
    private static TestTlsServer.Cert cert;
    private static TestTlsServer.Cert otherCert;

    @TempDir
    File stateDir;

    private TestTlsServer server;
    private ExecutorService callbackPool;
    private final List<MssClient> clients = new ArrayList<>();
    private final List<SyncMessage> received = new CopyOnWriteArrayList<>();
    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void generateCertificates() throws Exception {
        cert = TestTlsServer.generateCert(certDir, "server");
        otherCert = TestTlsServer.generateCert(certDir, "other");
    }

    @BeforeEach
    void startServer() throws Exception {
        server = new TestTlsServer(cert);
        // several threads, so that only the client's own serialization keeps callbacks ordered
        callbackPool = Executors.newFixedThreadPool(4);
    }

    @AfterEach
    void stop() {
        for (MssClient c : clients) {
            c.close();
        }
        server.close();
        callbackPool.shutdownNow();
    }

    private MssClient.Builder builder() {
        return MssClient.builder()
                .server("127.0.0.1", server.port())
                .trustCertificate(cert.pem)
                .deviceId("dev-1")
                .tokenProvider((deviceId, userId) -> "token:" + deviceId + ":" + userId)
                .stateDir(stateDir)
                .osType("android")
                .appVersion("3.2.1")
                .callbackExecutor(callbackPool)
                .reconnectBackoff(20, 100);
    }

    private MssClient start(MssClient.Builder builder) {
        MssClient client = builder.build();
        clients.add(client);
        client.addConnectionListener(new ConnectionListener() {
            @Override
            public void onConnected(String sessionId) {
                events.add("connected " + sessionId);
            }

            @Override
            public void onDisconnected(String reason, boolean willRetry) {
                events.add("disconnected " + willRetry + " " + reason);
            }
        });
        return client;
    }

    private static ServerFrame welcome(String sessionId, String userId, int heartbeatMillis) {
        return ServerFrame.newBuilder().setWelcome(Welcome.newBuilder()
                .setVersion(ProtocolVersion.MAX)
                .setSessionId(sessionId)
                .setHeartbeatIntervalMs(heartbeatMillis)
                .setUserId(userId == null ? "" : userId)
                .setDeviceId("dev-1")
                .setMaxFrameBytes(1 << 20)).build();
    }

    private static ServerFrame syncData(String bizType, ScopeKind scope, long... ids) {
        BizBatch.Builder batch = BizBatch.newBuilder().setBizType(bizType).setScope(scope);
        for (long id : ids) {
            batch.addOplogs(Oplog.newBuilder().setId(id).setPayload("payload-" + id).setCreatedAt(1_000 + id));
        }
        return ServerFrame.newBuilder().setSyncData(SyncData.newBuilder().addBatches(batch)).build();
    }

    private static ServerFrame error(ErrorCode code, boolean retry) {
        return ServerFrame.newBuilder().setError(io.mss.protocol.v1.Error.newBuilder()
                .setCode(code).setMessage("scripted").setRetry(retry)).build();
    }

    private static SyncPoint syncPoint(String bizType, ScopeKind scope, long id) {
        return SyncPoint.newBuilder().setBizType(bizType).setScope(scope).setId(id).build();
    }

    private List<Long> receivedIds() {
        return received.stream().map(SyncMessage::id).collect(Collectors.toList());
    }

    private SyncMessage receivedId(long id) {
        return received.stream().filter(m -> m.id() == id).findFirst()
                .orElseThrow(() -> new AssertionError("message " + id + " was not delivered"));
    }

    private Long storedSyncPoint(ScopeKey key) throws IOException {
        return SyncPointStore.open(stateDir).get(key);
    }

    /** Connects, checks the Hello, answers with Welcome and waits for the client to see it. */
    private TestTlsServer.Peer connect(MssClient client, String sessionId, String userId) throws Exception {
        TestTlsServer.Peer peer = server.accept();
        peer.nextHello();
        peer.send(welcome(sessionId, userId, 30_000));
        await().atMost(WAIT).until(() -> events.contains("connected " + sessionId));
        assertThat(client.isConnected()).isTrue();
        return peer;
    }

    @Test
    void helloDeliveryAcksAndResumeAfterReconnect() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        client.updateUserInfo("alice");
        client.appToForeground();

        TestTlsServer.Peer first = server.accept();
        Hello hello = first.nextHello();
        assertThat(hello.getMinVersion()).isEqualTo(ProtocolVersion.MIN);
        assertThat(hello.getMaxVersion()).isEqualTo(ProtocolVersion.MAX);
        assertThat(hello.getToken()).isEqualTo("token:dev-1:alice");
        assertThat(hello.getDeviceId()).isEqualTo("dev-1");
        assertThat(hello.getOsType()).isEqualTo("android");
        assertThat(hello.getAppVersion()).isEqualTo("3.2.1");
        assertThat(hello.getBizTypesList()).containsExactly("notes");
        assertThat(hello.getSyncPointsList()).isEmpty();
        assertThat(client.isConnected()).isFalse();

        first.send(welcome("s-1", "alice", 30_000));
        await().atMost(WAIT).until(client::isConnected);
        await().atMost(WAIT).until(() -> events.contains("connected s-1"));

        first.send(syncData("notes", ScopeKind.USER, 1, 2));
        await().atMost(WAIT).until(() -> received.size() == 2);
        assertThat(receivedIds()).containsExactly(1L, 2L);
        SyncMessage m1 = received.get(0);
        assertThat(m1.bizType()).isEqualTo("notes");
        assertThat(m1.scope()).isEqualTo(Scope.USER);
        assertThat(m1.payload()).isEqualTo("payload-1");
        assertThat(m1.createdAt()).isEqualTo(1_001L);
        assertThat(m1.userId()).isEqualTo("alice");

        client.reportMsgReceived(m1);
        assertThat(first.nextAck().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.USER, 1));
        client.reportMsgReceived(received.get(1));
        assertThat(first.nextAck().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.USER, 2));
        // the Ack goes out only after the sync point is on disk
        assertThat(storedSyncPoint(ScopeKey.user("notes", "alice"))).isEqualTo(2L);

        // the server drops the connection: the client comes back with its sync point
        first.close();
        await().atMost(WAIT).until(() -> events.stream().anyMatch(e -> e.startsWith("disconnected true")));
        TestTlsServer.Peer second = server.accept();
        Hello again = second.nextHello();
        assertThat(again.getToken()).isEqualTo("token:dev-1:alice");
        assertThat(again.getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.USER, 2));
        second.send(welcome("s-2", "alice", 30_000));
        await().atMost(WAIT).until(() -> events.contains("connected s-2"));

        // resent oplogs (1, 2) are not delivered again; a batch is handled in order, so once 4
        // is there, 1 and 2 would have been too
        second.send(syncData("notes", ScopeKind.USER, 1, 2, 3, 4));
        await().atMost(WAIT).until(() -> received.size() >= 4);
        assertThat(receivedIds()).containsExactly(1L, 2L, 3L, 4L);

        // acking 4 before 3 must not move the sync point past 2: the Ack that follows the next
        // ack (of a DEVICE message) carries only that scope
        client.registerBiz("alerts", received::add);
        TestTlsServer.Peer third = server.accept();
        assertThat(third.nextHello().getBizTypesList()).containsExactly("alerts", "notes");
        third.send(welcome("s-3", "alice", 30_000));
        await().atMost(WAIT).until(() -> events.contains("connected s-3"));
        third.send(syncData("alerts", ScopeKind.DEVICE, 7));
        await().atMost(WAIT).until(() -> received.size() == 5);

        client.reportMsgReceived(receivedId(4));
        client.reportMsgReceived(receivedId(7));
        assertThat(third.nextAck().getSyncPointsList()).containsExactly(syncPoint("alerts", ScopeKind.DEVICE, 7));
        assertThat(storedSyncPoint(ScopeKey.user("notes", "alice"))).isEqualTo(2L);
        client.reportMsgReceived(receivedId(3));
        assertThat(third.nextAck().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.USER, 4));
        assertThat(storedSyncPoint(ScopeKey.user("notes", "alice"))).isEqualTo(4L);
    }

    @Test
    void aRestartedClientResumesFromThePersistedSyncPointsAndSkipsAckedMessages() throws Exception {
        MssClient client = start(builder().autoAck(true));
        client.registerBiz("notes", received::add);
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(syncData("notes", ScopeKind.DEVICE, 1, 2, 3));
        await().atMost(WAIT).until(() -> storedSyncPointOrZero(ScopeKey.device("notes")) == 3);
        client.close();
        await().atMost(WAIT).until(peer::ended);

        received.clear();
        MssClient restarted = start(builder());
        restarted.registerBiz("notes", received::add);
        restarted.appToForeground();
        TestTlsServer.Peer next = server.accept();
        assertThat(next.nextHello().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 3));
        next.send(welcome("s-2", null, 30_000));
        next.send(syncData("notes", ScopeKind.DEVICE, 2, 3, 4));
        await().atMost(WAIT).until(() -> !received.isEmpty());
        assertThat(receivedIds()).containsExactly(4L);
    }

    private long storedSyncPointOrZero(ScopeKey key) throws IOException {
        Long id = storedSyncPoint(key);
        return id == null ? 0 : id;
    }

    @Test
    void callbacksRunInIdOrderOneAtATime() throws Exception {
        AtomicInteger running = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        MssClient client = start(builder());
        client.registerBiz("notes", m -> {
            if (running.incrementAndGet() > 1) {
                overlaps.incrementAndGet();
            }
            received.add(m);
            running.decrementAndGet();
        });
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        long[] ids = new long[200];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i + 1;
        }
        for (int i = 0; i < ids.length; i += 20) {
            long[] chunk = new long[20];
            System.arraycopy(ids, i, chunk, 0, 20);
            peer.send(syncData("notes", ScopeKind.GLOBAL, chunk));
        }
        await().atMost(WAIT).until(() -> received.size() == ids.length);
        for (int i = 0; i < ids.length; i++) {
            assertThat(received.get(i).id()).isEqualTo(ids[i]);
        }
        assertThat(overlaps).hasValue(0);
    }

    @Test
    void aThrowingCallbackLeavesItsMessageUnackedAndDeliveryGoesOn() throws Exception {
        List<String> fullUpdates = new CopyOnWriteArrayList<>();
        MssClient client = start(builder().autoAck(true));
        client.registerBiz("notes", new MessageCallback() {
            @Override
            public void onMessage(SyncMessage m) {
                received.add(m);
                if (m.id() == 2) {
                    throw new IllegalStateException("app bug");
                }
            }

            @Override
            public void onFullUpdate(String bizType) {
                fullUpdates.add(bizType);
            }
        });
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        peer.send(syncData("notes", ScopeKind.DEVICE, 1, 2, 3));
        await().atMost(WAIT).until(() -> received.size() == 3);
        assertThat(peer.nextAck().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 1));

        peer.send(ServerFrame.newBuilder().setCommand(Command.newBuilder()
                .setType(CommandType.FULL_UPDATE).setBizType("notes").setScope(ScopeKind.DEVICE)).build());
        await().atMost(WAIT).until(() -> fullUpdates.contains("notes"));
        // 3 was auto-acked but 2 holds the sync point back: nothing more was sent or stored
        assertThat(peer.pendingFrames()).isZero();
        assertThat(storedSyncPoint(ScopeKey.device("notes"))).isEqualTo(1L);

        // the app may still ack it later
        client.reportMsgReceived(receivedId(2));
        assertThat(peer.nextAck().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 3));
    }

    @Test
    void aFatalServerErrorStopsReconnectingUntilTheAppAsks() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        client.appToForeground();
        TestTlsServer.Peer peer = server.accept();
        peer.nextHello();
        peer.send(error(ErrorCode.INVALID_TOKEN, false));
        peer.close();

        await().atMost(WAIT).until(() -> events.stream()
                .anyMatch(e -> e.startsWith("disconnected false") && e.contains("INVALID_TOKEN")));
        await().during(Duration.ofMillis(500)).atMost(WAIT).until(() -> server.acceptedCount() == 1);
        assertThat(client.isConnected()).isFalse();

        client.appToForeground();
        connect(client, "s-2", null);
        assertThat(server.acceptedCount()).isEqualTo(2);
    }

    @Test
    void aRetryableServerErrorReconnects() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(error(ErrorCode.SERVER_SHUTTING_DOWN, true));
        peer.close();

        await().atMost(WAIT).until(() -> events.stream()
                .anyMatch(e -> e.startsWith("disconnected true") && e.contains("SERVER_SHUTTING_DOWN")));
        connect(client, "s-2", null);
    }

    @Test
    void pingsEveryHeartbeatIntervalAndPongsKeepTheConnection() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        client.appToForeground();
        TestTlsServer.Peer peer = server.accept();
        peer.answerPings();
        peer.nextHello();
        peer.send(welcome("s-1", null, 200));

        // five intervals on one connection: the Pongs alone keep the idle timeout (500 ms) away
        await().atMost(WAIT).until(() -> peer.pings() >= 5);
        assertThat(events).containsExactly("connected s-1");
        assertThat(peer.ended()).isFalse();
    }

    @Test
    void dropsAServerThatStaysSilentForTwoAndAHalfHeartbeats() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        client.appToForeground();
        TestTlsServer.Peer peer = server.accept();
        peer.nextHello();
        peer.send(welcome("s-1", null, 100));

        await().atMost(WAIT).until(() -> events.stream()
                .anyMatch(e -> e.startsWith("disconnected true") && e.contains("heartbeat")));
        await().atMost(WAIT).until(peer::ended);
        server.accept().nextHello();
    }

    @Test
    void changingTheUserReconnectsWithThatUsersTokenAndSyncPoints() throws Exception {
        MssClient client = start(builder().autoAck(true));
        client.registerBiz("notes", received::add);
        client.updateUserInfo("alice");
        client.appToForeground();
        TestTlsServer.Peer alice = connect(client, "s-1", "alice");
        alice.send(syncData("notes", ScopeKind.USER, 5));
        alice.send(syncData("notes", ScopeKind.DEVICE, 9));
        await().atMost(WAIT).until(() -> storedSyncPointOrZero(ScopeKey.device("notes")) == 9
                && storedSyncPointOrZero(ScopeKey.user("notes", "alice")) == 5);

        client.updateUserInfo("bob");
        TestTlsServer.Peer bob = server.accept();
        Hello hello = bob.nextHello();
        assertThat(hello.getToken()).isEqualTo("token:dev-1:bob");
        assertThat(hello.getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 9));
        await().atMost(WAIT).until(alice::ended);

        // bob's USER timeline is separate: id 5 is new for him
        bob.send(welcome("s-2", "bob", 30_000));
        bob.send(syncData("notes", ScopeKind.USER, 5));
        await().atMost(WAIT).until(() -> received.size() == 3);
        assertThat(received.get(2).userId()).isEqualTo("bob");

        client.clearUserInfo();
        Hello anonymous = server.accept().nextHello();
        assertThat(anonymous.getToken()).isEqualTo("token:dev-1:null");
        assertThat(anonymous.getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 9));
    }

    @Test
    void appToBackgroundDisconnectsAndStaysAway() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        client.appToBackground();
        await().atMost(WAIT).until(peer::ended);
        await().atMost(WAIT).until(() -> events.stream().anyMatch(e -> e.startsWith("disconnected false")));
        assertThat(client.isConnected()).isFalse();
        await().during(Duration.ofMillis(500)).atMost(WAIT).until(() -> server.acceptedCount() == 1);

        client.appToForeground();
        connect(client, "s-2", null);
    }

    @Test
    void anUntrustedServerCertificateIsRefused() throws Exception {
        MssClient client = start(builder().trustCertificate(otherCert.pem));
        client.registerBiz("notes", received::add);
        client.appToForeground();

        // the client keeps trying with backoff, and never gets past the handshake
        await().atMost(WAIT).until(() -> server.handshakeFailures() >= 2);
        assertThat(server.acceptedCount()).isZero();
        assertThat(client.isConnected()).isFalse();
    }

    @Test
    void insecureTrustAllAcceptsAnyCertificate() throws Exception {
        MssClient client = start(builder().insecureTrustAll());
        client.registerBiz("notes", received::add);
        client.appToForeground();
        connect(client, "s-1", null);
    }

    @Test
    void changesBeforeTheHelloNeedNoExtraConnection() throws Exception {
        CountDownLatch tokenGate = new CountDownLatch(1);
        List<String> tokenRequests = new CopyOnWriteArrayList<>();
        MssClient client = start(builder().tokenProvider((deviceId, userId) -> {
            tokenRequests.add(String.valueOf(userId));
            // holds the first attempt before its Hello while the test changes things
            assertThat(tokenGate.await(10, TimeUnit.SECONDS)).isTrue();
            return "token:" + userId;
        }));
        client.registerBiz("notes", received::add);
        client.appToForeground();
        await().atMost(WAIT).until(() -> tokenRequests.size() == 1);

        client.registerBiz("chat", received::add);
        client.registerBiz("alerts", received::add);
        // the token being fetched is for nobody: this attempt is stale, a new one starts
        client.updateUserInfo("alice");
        await().atMost(WAIT).until(() -> tokenRequests.size() == 2);
        client.unregisterBiz("chat");
        tokenGate.countDown();

        Hello hello = server.accept().nextHello();
        assertThat(hello.getToken()).isEqualTo("token:alice");
        assertThat(hello.getBizTypesList()).containsExactly("alerts", "notes");
        assertThat(tokenRequests).containsExactly("null", "alice");
        await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> server.acceptedCount() == 1);
    }

    @Test
    void aThrowingTokenProviderIsAFailedAttemptThatIsRetried() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        MssClient client = start(builder().tokenProvider((deviceId, userId) -> {
            if (calls.incrementAndGet() <= 2) {
                throw new IOException("token service down");
            }
            return "late-token";
        }));
        client.registerBiz("notes", received::add);
        client.appToForeground();

        TestTlsServer.Peer peer = server.accept();
        assertThat(peer.nextHello().getToken()).isEqualTo("late-token");
        assertThat(calls).hasValue(3);
    }
}
