package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mss.client.internal.ScopeKey;
import io.mss.protocol.ProtocolVersion;
import io.mss.client.internal.proto.Ack;
import io.mss.client.internal.proto.Command;
import io.mss.client.internal.proto.CommandType;
import io.mss.client.internal.proto.ErrorCode;
import io.mss.client.internal.proto.Hello;
import io.mss.client.internal.proto.ScopeKind;
import io.mss.client.internal.proto.ServerFrame;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The client against a scripted TLS server: handshake, delivery, acks, reconnects. */
class MssClientTlsTest extends ClientTestSupport {

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
        // stored in the inbox, then acked to the server: before the app has acked anything
        assertThat(first.nextAck().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.USER, 2));
        // the Ack goes out only after the sync point is on disk
        assertThat(storedSyncPoint(ScopeKey.user("notes", "alice"))).isEqualTo(2L);

        // one message of a scope at a time: 2 waits for the app's ack of 1
        await().atMost(WAIT).until(() -> received.size() == 1);
        SyncMessage m1 = received.get(0);
        assertThat(m1.id()).isEqualTo(1L);
        assertThat(m1.bizType()).isEqualTo("notes");
        assertThat(m1.scope()).isEqualTo(Scope.USER);
        assertThat(m1.payload()).isEqualTo("payload-1");
        assertThat(m1.createdAt()).isEqualTo(1_001L);
        assertThat(m1.userId()).isEqualTo("alice");
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> received.size() == 1);

        client.reportMsgReceived(m1);
        await().atMost(WAIT).until(() -> received.size() == 2);
        client.reportMsgReceived(received.get(1));
        assertThat(receivedIds()).containsExactly(1L, 2L);
        // app acks are local: the server heard everything it needs at store time
        assertThat(first.pendingFrames()).isZero();

        // the server drops the connection: the client comes back with its sync point
        first.close();
        await().atMost(WAIT).until(() -> events.stream().anyMatch(e -> e.startsWith("disconnected true")));
        TestTlsServer.Peer second = server.accept();
        Hello again = second.nextHello();
        assertThat(again.getToken()).isEqualTo("token:dev-1:alice");
        assertThat(again.getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.USER, 2));
        second.send(welcome("s-2", "alice", 30_000));
        await().atMost(WAIT).until(() -> events.contains("connected s-2"));

        // resent oplogs (1, 2) are not stored or delivered again
        second.send(syncData("notes", ScopeKind.USER, 1, 2, 3, 4));
        assertThat(second.nextAck().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.USER, 4));
        await().atMost(WAIT).until(() -> received.size() == 3);
        assertThat(receivedIds()).containsExactly(1L, 2L, 3L);

        // acking a message the client has not delivered yet is ignored: 4 still comes after 3
        client.reportMsgReceived(SyncMessage.builder().bizType("notes").scope(Scope.USER).userId("alice").id(4).build());

        // scopes do not wait for each other: alerts 7 arrives while notes 3 is unacked
        client.registerBiz("alerts", received::add);
        TestTlsServer.Peer third = server.accept();
        assertThat(third.nextHello().getBizTypesList()).containsExactly("alerts", "notes");
        third.send(welcome("s-3", "alice", 30_000));
        await().atMost(WAIT).until(() -> events.contains("connected s-3"));
        third.send(syncData("alerts", ScopeKind.DEVICE, 7));
        assertThat(third.nextAck().getSyncPointsList()).containsExactly(syncPoint("alerts", ScopeKind.DEVICE, 7));
        await().atMost(WAIT).until(() -> received.size() == 4);
        assertThat(receivedIds()).containsExactly(1L, 2L, 3L, 7L);

        client.reportMsgReceived(receivedId(3));
        await().atMost(WAIT).until(() -> received.size() == 5);
        assertThat(receivedIds()).containsExactly(1L, 2L, 3L, 7L, 4L);
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

    @Test
    void callbacksRunInIdOrderOneAtATime() throws Exception {
        AtomicInteger running = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        MssClient client = start(builder().autoAck(true));
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
    void aThrowingCallbackIsRetriedWhileLaterMessagesOfItsScopeWait() throws Exception {
        AtomicInteger failuresLeft = new AtomicInteger(2);
        MssClient client = start(builder().autoAck(true).redeliveryBackoff(10, 20));
        client.registerBiz("notes", m -> {
            received.add(m);
            if (m.id() == 2 && failuresLeft.getAndDecrement() > 0) {
                throw new IllegalStateException("app bug");
            }
        });
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        peer.send(syncData("notes", ScopeKind.DEVICE, 1, 2, 3));
        // the server's ack does not wait for the app
        assertThat(peer.nextAck().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 3));
        await().atMost(WAIT).until(() -> received.size() == 5);
        assertThat(receivedIds()).containsExactly(1L, 2L, 2L, 2L, 3L);
        await().atMost(WAIT).until(() -> peekInbox(stateDir).pendingCount() == 0);
        assertThat(peer.pendingFrames()).isZero();
    }

    @Test
    void fullUpdateIsASignalAndDropsNothingFromTheInbox() throws Exception {
        List<String> fullUpdates = new CopyOnWriteArrayList<>();
        MssClient client = start(builder());
        client.registerBiz("notes", new MessageCallback() {
            @Override
            public void onMessage(SyncMessage m) {
                received.add(m);
            }

            @Override
            public void onFullUpdate(String bizType) {
                fullUpdates.add(bizType);
            }
        });
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        peer.send(syncData("notes", ScopeKind.DEVICE, 1, 2, 3));
        peer.nextAck();
        await().atMost(WAIT).until(() -> received.size() == 1);
        peer.send(ServerFrame.newBuilder().setCommand(Command.newBuilder()
                .setType(CommandType.FULL_UPDATE).setBizType("notes").setScope(ScopeKind.DEVICE)).build());
        await().atMost(WAIT).until(() -> fullUpdates.contains("notes"));

        // 1 is still with the app, 2 and 3 wait in the inbox: all three are delivered
        client.reportMsgReceived(receivedId(1));
        await().atMost(WAIT).until(() -> received.size() == 2);
        client.reportMsgReceived(receivedId(2));
        await().atMost(WAIT).until(() -> received.size() == 3);
        client.reportMsgReceived(receivedId(3));
        assertThat(receivedIds()).containsExactly(1L, 2L, 3L);
        await().atMost(WAIT).until(() -> peekInbox(stateDir).pendingCount() == 0);
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
