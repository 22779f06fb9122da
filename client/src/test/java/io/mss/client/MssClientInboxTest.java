package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.mss.client.internal.Inbox;
import io.mss.client.internal.ScopeKey;
import io.mss.client.internal.proto.BizBatch;
import io.mss.client.internal.proto.Oplog;
import io.mss.client.internal.proto.ScopeKind;
import io.mss.client.internal.proto.ServerFrame;
import io.mss.client.internal.proto.SyncData;

import java.io.File;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The local inbox seen through the client: store-then-ack, ordered dispatch, retries, drops, users. */
class MssClientInboxTest extends ClientTestSupport {
    private final List<String> dropped = new CopyOnWriteArrayList<>();

    /** Records every message and drop event; acks nothing by itself. */
    private MessageCallback recording(MessageCallback onMessage) {
        return new MessageCallback() {
            @Override
            public void onMessage(SyncMessage m) {
                received.add(m);
                onMessage.onMessage(m);
            }

            @Override
            public void onMessageDropped(SyncMessage m, String reason) {
                dropped.add(m.bizType() + "/" + m.id() + ": " + reason);
            }
        };
    }

    private long deliveries(long id) {
        return received.stream().filter(m -> m.id() == id).count();
    }

    private long count(String bizType) {
        return received.stream().filter(m -> m.bizType().equals(bizType)).count();
    }

    private void awaitCount(String bizType, long n) {
        await().atMost(WAIT).until(() -> count(bizType) == n);
    }

    private void ackLatest(MssClient client, String bizType) {
        client.reportMsgReceived(received.stream().filter(m -> m.bizType().equals(bizType)).reduce((a, b) -> b).get());
    }

    private static ServerFrame frame(BizBatch... batches) {
        SyncData.Builder data = SyncData.newBuilder();
        for (BizBatch b : batches) {
            data.addBatches(b);
        }
        return ServerFrame.newBuilder().setSyncData(data).build();
    }

    private static BizBatch batch(String bizType, ScopeKind scope, long... ids) {
        BizBatch.Builder batch = BizBatch.newBuilder().setBizType(bizType).setScope(scope);
        for (long id : ids) {
            batch.addOplogs(Oplog.newBuilder().setId(id).setPayload(bizType + "-" + id).setCreatedAt(id));
        }
        return batch.build();
    }

    @Test
    void theServerIsAckedOnceMessagesAreInTheInboxNotWhenTheAppAcks() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(m -> { }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        peer.send(syncData("notes", ScopeKind.DEVICE, 1, 2, 3));
        assertThat(peer.nextAck().getSyncPointsList()).containsExactly(syncPoint("notes", ScopeKind.DEVICE, 3));
        // the Ack came although the app acked nothing: the three messages are on disk
        Inbox onDisk = peekInbox(stateDir);
        assertThat(onDisk.pending(ScopeKey.device("notes"))).extracting(SyncMessage::id).containsExactly(1L, 2L, 3L);
        assertThat(storedSyncPoint(ScopeKey.device("notes"))).isEqualTo(3L);
        await().atMost(WAIT).until(() -> received.size() == 1);
        assertThat(receivedIds()).containsExactly(1L);
    }

    @Test
    void unackedMessagesSurviveARestartAndAreDispatchedWithoutAConnection() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(m -> { }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(syncData("notes", ScopeKind.DEVICE, 1, 2));
        peer.nextAck();
        await().atMost(WAIT).until(() -> received.size() == 1);
        client.close();

        // the server considers both delivered; the restarted app still gets both, from its inbox
        received.clear();
        MssClient restarted = start(builder());
        restarted.registerBiz("notes", recording(restarted::reportMsgReceived));
        await().atMost(WAIT).until(() -> received.size() == 2);
        assertThat(receivedIds()).containsExactly(1L, 2L);
        assertThat(received.get(0).payload()).isEqualTo("payload-1");
        assertThat(server.acceptedCount()).isEqualTo(1);
        await().atMost(WAIT).until(() -> peekInbox(stateDir).pendingCount() == 0);
    }

    @Test
    void dispatchKeepsIdOrderPerScopeOneAtATimeAndScopesDoNotWaitForEachOther() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(m -> { }));
        client.registerBiz("news", recording(m -> { }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        peer.send(frame(batch("notes", ScopeKind.DEVICE, 1, 2, 3), batch("news", ScopeKind.GLOBAL, 10, 11)));
        peer.nextAck();
        peer.send(frame(batch("news", ScopeKind.GLOBAL, 12), batch("notes", ScopeKind.DEVICE, 4)));
        // the heads of both scopes are with the app at once, nothing else
        await().atMost(WAIT).until(() -> received.size() == 2);
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> received.size() == 2);
        assertThat(received).extracting(m -> m.bizType() + m.id()).containsExactlyInAnyOrder("notes1", "news10");

        // news is acked at once, notes waits: news goes on alone
        ackLatest(client, "news");
        awaitCount("news", 2);
        ackLatest(client, "news");
        awaitCount("news", 3);
        ackLatest(client, "news");
        assertThat(count("notes")).isEqualTo(1);
        for (int n = 2; n <= 4; n++) {
            ackLatest(client, "notes");
            awaitCount("notes", n);
        }
        ackLatest(client, "notes");
        assertThat(received.stream().filter(m -> m.bizType().equals("notes")).map(SyncMessage::id)
                .collect(Collectors.toList())).containsExactly(1L, 2L, 3L, 4L);
        assertThat(received.stream().filter(m -> m.bizType().equals("news")).map(SyncMessage::id)
                .collect(Collectors.toList())).containsExactly(10L, 11L, 12L);
        await().atMost(WAIT).until(() -> peekInbox(stateDir).pendingCount() == 0);
    }

    @Test
    void aMessageWhoseCallbackKeepsThrowingIsDroppedAfterSixAttemptsWithAnEvent() throws Exception {
        MssClient client = start(builder().autoAck(true).redeliveryBackoff(5, 10));
        client.registerBiz("notes", recording(m -> {
            if (m.id() == 1) {
                throw new IllegalStateException("cannot parse");
            }
        }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(syncData("notes", ScopeKind.DEVICE, 1, 2));

        await().atMost(WAIT).until(() -> dropped.size() == 1);
        assertThat(dropped.get(0)).startsWith("notes/1: dropped after 6 delivery attempts")
                .contains("IllegalStateException: cannot parse");
        // and then the scope moves on
        await().atMost(WAIT).until(() -> deliveries(2) == 1);
        assertThat(deliveries(1)).isEqualTo(MssClient.MAX_DELIVERY_ATTEMPTS);
        assertThat(receivedIds()).containsExactly(1L, 1L, 1L, 1L, 1L, 1L, 2L);
        await().atMost(WAIT).until(() -> peekInbox(stateDir).pendingCount() == 0);
    }

    @Test
    void aCallbackThatDoesNotAckInTimeGetsTheMessageAgainAndALateAckStillCounts() throws Exception {
        MssClient client = start(builder().ackTimeoutMillis(500).redeliveryBackoff(5, 10));
        client.registerBiz("notes", recording(m -> { }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(syncData("notes", ScopeKind.DEVICE, 1, 2));

        await().atMost(WAIT).until(() -> deliveries(1) == 2);
        assertThat(deliveries(2)).isZero();
        // the first delivery's ack, late: the message is done, 2 follows, 1 does not come again
        client.reportMsgReceived(received.get(0));
        await().atMost(WAIT).until(() -> deliveries(2) == 1);
        client.reportMsgReceived(receivedId(2));
        await().during(Duration.ofMillis(400)).atMost(WAIT).until(() -> deliveries(1) == 2);
        assertThat(dropped).isEmpty();
    }

    @Test
    void ackTimeoutsCountTowardsTheDropToo() throws Exception {
        MssClient client = start(builder().ackTimeoutMillis(30).redeliveryBackoff(5, 5));
        client.registerBiz("notes", recording(m -> { }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(syncData("notes", ScopeKind.DEVICE, 1));

        await().atMost(WAIT).until(() -> dropped.size() == 1);
        assertThat(dropped.get(0)).contains("not acked within 30 ms");
        assertThat(deliveries(1)).isEqualTo(6);
    }

    @Test
    void attemptsSurviveACleanRestart() throws Exception {
        CountDownLatch stuck = new CountDownLatch(1);
        try {
            MssClient client = start(builder().autoAck(true).redeliveryBackoff(10, 10));
            client.registerBiz("notes", recording(m -> {
                if (deliveries(1) < 3) {
                    throw new IllegalStateException("app bug");
                }
                // the third attempt is still running when the app closes the client
                try {
                    stuck.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            client.appToForeground();
            TestTlsServer.Peer peer = connect(client, "s-1", null);
            peer.send(syncData("notes", ScopeKind.DEVICE, 1));
            await().atMost(WAIT).until(() -> deliveries(1) == 3);
            client.close();
        } finally {
            stuck.countDown();
        }
        // two failed attempts count; the one cut short by close() does not
        assertThat(peekInbox(stateDir).head(ScopeKey.device("notes")).attempts()).isEqualTo(2);

        received.clear();
        MssClient restarted = start(builder().autoAck(true).redeliveryBackoff(10, 10));
        restarted.registerBiz("notes", recording(m -> {
            throw new IllegalStateException("still broken");
        }));
        await().atMost(WAIT).until(() -> dropped.size() == 1);
        assertThat(deliveries(1)).isEqualTo(MssClient.MAX_DELIVERY_ATTEMPTS - 2);
        assertThat(dropped.get(0)).contains("still broken");
    }

    /**
     * An app that dies inside the callback, over and over: each attempt was counted before the
     * callback ran, so after six the message is dropped without a seventh call.
     */
    @Test
    void aMessageThatCrashesTheAppIsDroppedAfterSixAttemptsAcrossRestarts() throws Exception {
        MssClient first = start(builder());
        first.registerBiz("notes", recording(m -> { }));
        first.appToForeground();
        TestTlsServer.Peer peer = connect(first, "s-1", null);
        peer.send(syncData("notes", ScopeKind.DEVICE, 1, 2));
        peer.nextAck();
        await().atMost(WAIT).until(() -> deliveries(1) == 1);
        // the process dies while the callback runs: the phone keeps what is on disk
        File phone = snapshot(stateDir);
        first.close();

        for (int attempt = 2; attempt <= MssClient.MAX_DELIVERY_ATTEMPTS; attempt++) {
            MssClient again = start(builder(phone));
            again.registerBiz("notes", recording(m -> { }));
            int expected = attempt;
            await().atMost(WAIT).until(() -> deliveries(1) == expected);
            File crashed = snapshot(phone);
            again.close();
            phone = crashed;
        }
        assertThat(Inbox.open(snapshot(phone)).head(ScopeKey.device("notes")).attempts()).isEqualTo(6);

        MssClient last = start(builder(phone));
        last.registerBiz("notes", recording(last::reportMsgReceived));
        await().atMost(WAIT).until(() -> dropped.size() == 1);
        assertThat(dropped.get(0)).startsWith("notes/1: dropped after 6 delivery attempts")
                .contains("did not finish");
        await().atMost(WAIT).until(() -> deliveries(2) == 1);
        assertThat(deliveries(1)).isEqualTo(6);
    }

    @Test
    void closingDuringAnAttemptDoesNotCountIt() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(m -> { }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        peer.send(syncData("notes", ScopeKind.DEVICE, 1));
        await().atMost(WAIT).until(() -> received.size() == 1);
        assertThat(peekInbox(stateDir).head(ScopeKey.device("notes")).attempts()).isEqualTo(1);

        client.close();
        assertThat(peekInbox(stateDir).head(ScopeKey.device("notes")).attempts()).isZero();
    }

    @Test
    void messagesOfABizTypeWithoutCallbackWaitInTheInboxUntilOneIsRegistered() throws Exception {
        MssClient client = start(builder().autoAck(true));
        client.registerBiz("notes", recording(m -> { }));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        peer.send(syncData("chat", ScopeKind.DEVICE, 1, 2));
        // stored and acked to the server all the same
        assertThat(peer.nextAck().getSyncPointsList()).containsExactly(syncPoint("chat", ScopeKind.DEVICE, 2));
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(received::isEmpty);
        assertThat(peekInbox(stateDir).pending(ScopeKey.device("chat"))).extracting(SyncMessage::id)
                .containsExactly(1L, 2L);

        client.registerBiz("chat", recording(m -> { }));
        await().atMost(WAIT).until(() -> received.size() == 2);
        assertThat(received).extracting(m -> m.bizType() + m.id()).containsExactly("chat1", "chat2");
    }

    @Test
    void aUserSwitchNeverShowsAlicesUserMessagesToBob() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", recording(m -> { }));
        client.updateUserInfo("alice");
        client.appToForeground();
        TestTlsServer.Peer alice = connect(client, "s-1", "alice");
        alice.send(syncData("notes", ScopeKind.USER, 1, 2, 3));
        alice.nextAck();
        await().atMost(WAIT).until(() -> received.size() == 1);
        SyncMessage alice1 = received.get(0);
        assertThat(alice1.userId()).isEqualTo("alice");

        client.clearUserInfo();
        client.updateUserInfo("bob");
        TestTlsServer.Peer bob = null;
        // the anonymous connection may or may not be attempted in between
        while (bob == null) {
            TestTlsServer.Peer p = server.accept();
            if (p.nextHello().getToken().equals("token:dev-1:bob")) {
                bob = p;
            }
        }
        bob.send(welcome("s-2", "bob", 30_000));
        bob.send(syncData("notes", ScopeKind.USER, 1, 2));
        bob.nextAck();
        await().atMost(WAIT).until(() -> received.size() == 2);
        SyncMessage bob1 = received.get(1);
        assertThat(bob1.userId()).isEqualTo("bob");
        // alice acks her message while bob is signed in: allowed, it is hers; still nothing of hers shows
        client.reportMsgReceived(alice1);
        client.reportMsgReceived(bob1);
        await().atMost(WAIT).until(() -> received.size() == 3);
        await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> received.size() == 3);
        assertThat(received).extracting(m -> m.userId() + m.id()).containsExactly("alice1", "bob1", "bob2");
        client.reportMsgReceived(received.get(2));

        // alice signs in again: her messages were kept for her
        client.updateUserInfo("alice");
        await().atMost(WAIT).until(() -> received.size() == 4);
        client.reportMsgReceived(received.get(3));
        await().atMost(WAIT).until(() -> received.size() == 5);
        assertThat(received).extracting(m -> m.userId() + m.id())
                .containsExactly("alice1", "bob1", "bob2", "alice2", "alice3");
    }

    @Test
    void aUserMessageQueuedForTheCallbackBeforeASwitchIsHeldBack() throws Exception {
        // one callback thread, blocked by a DEVICE message while alice's USER message waits behind it
        ExecutorService single = Executors.newSingleThreadExecutor();
        CountDownLatch gate = new CountDownLatch(1);
        try {
            MssClient client = start(builder().callbackExecutor(single).autoAck(true));
            client.registerBiz("notes", recording(m -> {
                if (m.scope() == Scope.DEVICE) {
                    try {
                        gate.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }));
            client.updateUserInfo("alice");
            client.appToForeground();
            TestTlsServer.Peer alice = connect(client, "s-1", "alice");
            alice.send(syncData("notes", ScopeKind.DEVICE, 1));
            await().atMost(WAIT).until(() -> received.size() == 1);
            alice.send(syncData("notes", ScopeKind.USER, 5));
            alice.nextAck();
            alice.nextAck();
            await().atMost(WAIT).until(() -> peekInbox(stateDir).head(ScopeKey.user("notes", "alice")).attempts() == 1);

            client.updateUserInfo("bob");
            gate.countDown();
            await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> received.size() == 1);
            // not shown, and not counted as an attempt
            await().atMost(WAIT).until(() -> peekInbox(stateDir).head(ScopeKey.user("notes", "alice")).attempts() == 0);

            client.updateUserInfo("alice");
            await().atMost(WAIT).until(() -> received.size() == 2);
            assertThat(received.get(1).userId()).isEqualTo("alice");
            assertThat(received.get(1).id()).isEqualTo(5L);
        } finally {
            gate.countDown();
            single.shutdownNow();
        }
    }

    @Test
    void theBuilderRejectsNonPositiveTimeoutsAndBackoffs() {
        assertThatThrownBy(() -> MssClient.builder().ackTimeoutMillis(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MssClient.builder().upstreamTimeoutMillis(0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MssClient.builder().redeliveryBackoff(0, 10))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MssClient.builder().redeliveryBackoff(20, 10))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void deviceAndGlobalMessagesAreDispatchedWhoeverIsSignedIn() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        MssClient client = start(builder().autoAck(true));
        client.registerBiz("notes", recording(m -> calls.incrementAndGet()));
        client.updateUserInfo("alice");
        client.clearUserInfo();
        client.updateUserInfo("bob");
        client.appToForeground();
        TestTlsServer.Peer peer = null;
        while (peer == null) {
            TestTlsServer.Peer p = server.accept();
            if (p.nextHello().getToken().equals("token:dev-1:bob")) {
                peer = p;
            }
        }
        peer.send(welcome("s-1", "bob", 30_000));
        peer.send(frame(batch("notes", ScopeKind.DEVICE, 1), batch("notes", ScopeKind.GLOBAL, 2)));
        await().atMost(WAIT).until(() -> calls.get() == 2);
    }
}
