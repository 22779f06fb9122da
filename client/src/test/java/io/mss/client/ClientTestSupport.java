package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mss.client.internal.Inbox;
import io.mss.client.internal.ScopeKey;
import io.mss.client.internal.SyncPointStore;
import io.mss.protocol.ProtocolVersion;
import io.mss.client.internal.proto.BizBatch;
import io.mss.client.internal.proto.ErrorCode;
import io.mss.client.internal.proto.Oplog;
import io.mss.client.internal.proto.ScopeKind;
import io.mss.client.internal.proto.ServerFrame;
import io.mss.client.internal.proto.SyncData;
import io.mss.client.internal.proto.SyncPoint;
import io.mss.client.internal.proto.Welcome;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A scripted TLS server, a state directory and helpers for tests that drive a real client. */
abstract class ClientTestSupport {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    static File certDir;
    static TestTlsServer.Cert cert;
    static TestTlsServer.Cert otherCert;

    @TempDir
    File stateDir;
    /** For copies of the state directory ("the phone as it was when the app died"). */
    @TempDir
    File scratch;

    TestTlsServer server;
    ExecutorService callbackPool;
    final List<MssClient> clients = new ArrayList<>();
    final List<SyncMessage> received = new CopyOnWriteArrayList<>();
    final List<String> events = new CopyOnWriteArrayList<>();
    private int copies;

    /** Per test class: the static temp directory holding them is deleted after each class. */
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

    MssClient.Builder builder() {
        return builder(stateDir);
    }

    MssClient.Builder builder(File dir) {
        return MssClient.builder()
                .server("127.0.0.1", server.port())
                .trustCertificate(cert.pem)
                .deviceId("dev-1")
                .tokenProvider((deviceId, userId) -> "token:" + deviceId + ":" + userId)
                .stateDir(dir)
                .osType("android")
                .appVersion("3.2.1")
                .callbackExecutor(callbackPool)
                .reconnectBackoff(20, 100);
    }

    MssClient start(MssClient.Builder builder) {
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

    static ServerFrame welcome(String sessionId, String userId, int heartbeatMillis) {
        return ServerFrame.newBuilder().setWelcome(Welcome.newBuilder()
                .setVersion(ProtocolVersion.MAX)
                .setSessionId(sessionId)
                .setHeartbeatIntervalMs(heartbeatMillis)
                .setUserId(userId == null ? "" : userId)
                .setDeviceId("dev-1")
                .setMaxFrameBytes(1 << 20)).build();
    }

    static ServerFrame syncData(String bizType, ScopeKind scope, long... ids) {
        BizBatch.Builder batch = BizBatch.newBuilder().setBizType(bizType).setScope(scope);
        for (long id : ids) {
            batch.addOplogs(Oplog.newBuilder().setId(id).setPayload("payload-" + id).setCreatedAt(1_000 + id));
        }
        return ServerFrame.newBuilder().setSyncData(SyncData.newBuilder().addBatches(batch)).build();
    }

    static ServerFrame error(ErrorCode code, boolean retry) {
        return ServerFrame.newBuilder().setError(io.mss.client.internal.proto.Error.newBuilder()
                .setCode(code).setMessage("scripted").setRetry(retry)).build();
    }

    static SyncPoint syncPoint(String bizType, ScopeKind scope, long id) {
        return SyncPoint.newBuilder().setBizType(bizType).setScope(scope).setId(id).build();
    }

    List<Long> receivedIds() {
        return received.stream().map(SyncMessage::id).collect(Collectors.toList());
    }

    SyncMessage receivedId(long id) {
        return received.stream().filter(m -> m.id() == id).findFirst()
                .orElseThrow(() -> new AssertionError("message " + id + " was not delivered"));
    }

    /** What a client restarted now would resume from: the checkpoint file reconciled with the inbox, on a copy. */
    Long storedSyncPoint(ScopeKey key) throws IOException {
        return SyncPointStore.load(snapshot(stateDir)).get(key);
    }

    long storedSyncPointOrZero(ScopeKey key) throws IOException {
        Long id = storedSyncPoint(key);
        return id == null ? 0 : id;
    }

    /**
     * A copy of the state directory as it is on disk right now: what a restarted app would find
     * had its process died at this moment.
     */
    File snapshot(File dir) throws IOException {
        File copy = new File(scratch, "copy-" + ++copies);
        assertThat(copy.mkdirs()).isTrue();
        File[] files = dir.listFiles();
        if (files != null) {
            for (File f : files) {
                try {
                    Files.copy(f.toPath(), new File(copy, f.getName()).toPath(), StandardCopyOption.REPLACE_EXISTING);
                } catch (java.nio.file.NoSuchFileException renamedMeanwhile) {
                    // syncpoints.properties.tmp renamed over the checkpoint between the listing and the copy
                }
            }
        }
        return copy;
    }

    /** The inbox as it is on disk, read from a copy so that the running client is not disturbed. */
    Inbox peekInbox(File dir) throws IOException {
        return Inbox.open(snapshot(dir));
    }

    /** Connects, checks the Hello, answers with Welcome and waits for the client to see it. */
    TestTlsServer.Peer connect(MssClient client, String sessionId, String userId) throws Exception {
        TestTlsServer.Peer peer = server.accept();
        peer.nextHello();
        peer.send(welcome(sessionId, userId, 30_000));
        await().atMost(WAIT).until(() -> events.contains("connected " + sessionId));
        assertThat(client.isConnected()).isTrue();
        return peer;
    }
}
