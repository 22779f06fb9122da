package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.mss.client.internal.proto.Hello;
import io.mss.client.internal.proto.UpstreamMessage;

import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Identity in the Hello, and upstream messages: send, answer, resend, timeout, limits. */
class MssClientUpstreamTest extends ClientTestSupport {

    private static String chars(int n) {
        char[] c = new char[n];
        Arrays.fill(c, 'x');
        return new String(c);
    }

    @Test
    void theHelloCarriesUserIdAndSessionId() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        client.updateUserInfo("alice", "sess-9");
        client.appToForeground();
        TestTlsServer.Peer first = server.accept();
        Hello hello = first.nextHello();
        assertThat(hello.getToken()).isEqualTo("token:dev-1:alice");
        assertThat(hello.getUserId()).isEqualTo("alice");
        assertThat(hello.getSessionId()).isEqualTo("sess-9");
        first.send(welcome("s-1", "alice", 30_000));
        await().atMost(WAIT).until(() -> events.contains("connected s-1"));

        // a new business session for the same user: the server must see it
        client.updateUserInfo("alice", "sess-10");
        Hello renewed = server.accept().nextHello();
        assertThat(renewed.getUserId()).isEqualTo("alice");
        assertThat(renewed.getSessionId()).isEqualTo("sess-10");
        await().atMost(WAIT).until(first::ended);

        // the one-argument form: user_id set, no session
        client.updateUserInfo("bob");
        Hello bob = server.accept().nextHello();
        assertThat(bob.getToken()).isEqualTo("token:dev-1:bob");
        assertThat(bob.getUserId()).isEqualTo("bob");
        assertThat(bob.getSessionId()).isEmpty();

        client.clearUserInfo();
        Hello anonymous = server.accept().nextHello();
        assertThat(anonymous.getToken()).isEqualTo("token:dev-1:null");
        assertThat(anonymous.getUserId()).isEmpty();
        assertThat(anonymous.getSessionId()).isEmpty();
    }

    @Test
    void updateUserInfoRejectsAnEmptyUserOrAMissingSession() {
        MssClient client = start(builder());
        assertThatThrownBy(() -> client.updateUserInfo("", "s")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> client.updateUserInfo("alice", null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void aMessageSentWhileDisconnectedGoesOutOnConnectAndCompletesWithTheAnswer() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        CompletableFuture<UpstreamReply> reply = client.sendMessage("notes", "{\"read\":42}");
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        UpstreamMessage m = peer.nextUpstream();
        assertThat(m.getBizType()).isEqualTo("notes");
        assertThat(m.getPayload()).isEqualTo("{\"read\":42}");
        assertThat(UUID.fromString(m.getClientMsgId()).toString()).isEqualTo(m.getClientMsgId());
        assertThat(reply).isNotDone();

        peer.answer(m, true, "OK", "{\"unread\":0}", "");
        UpstreamReply r = reply.get(10, TimeUnit.SECONDS);
        assertThat(r).isEqualTo(new UpstreamReply(m.getClientMsgId(), true, "OK", "{\"unread\":0}", ""));

        // sent at once while connected, each with its own id
        CompletableFuture<UpstreamReply> second = client.sendMessage("notes", "again");
        UpstreamMessage m2 = peer.nextUpstream();
        assertThat(m2.getClientMsgId()).isNotEqualTo(m.getClientMsgId());
        assertThat(m2.getPayload()).isEqualTo("again");
        peer.answer(m2, true, "OK", "", "");
        assertThat(second.get(10, TimeUnit.SECONDS).success()).isTrue();
    }

    @Test
    void aFailedResultCompletesNormallyWithTheServersCodeAndMessage() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        CompletableFuture<UpstreamReply> noWebhook = client.sendMessage("notes", "a");
        CompletableFuture<UpstreamReply> timedOut = client.sendMessage("orders", "b");
        UpstreamMessage m1 = peer.nextUpstream();
        UpstreamMessage m2 = peer.nextUpstream();
        // answers may come in any order
        peer.answer(m2, false, "WEBHOOK_TIMEOUT", "", "the webhook did not answer within 5000 ms");
        peer.answer(m1, false, "NO_WEBHOOK", "", "bizType 'notes' has no upstreamWebhook configured");

        UpstreamReply r1 = noWebhook.get(10, TimeUnit.SECONDS);
        assertThat(r1.success()).isFalse();
        assertThat(r1.code()).isEqualTo("NO_WEBHOOK");
        assertThat(r1.message()).contains("no upstreamWebhook");
        assertThat(r1.clientMsgId()).isEqualTo(m1.getClientMsgId());
        UpstreamReply r2 = timedOut.get(10, TimeUnit.SECONDS);
        assertThat(r2.success()).isFalse();
        assertThat(r2.code()).isEqualTo("WEBHOOK_TIMEOUT");
    }

    @Test
    void anUnansweredMessageIsResentWithTheSameIdAfterAReconnect() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        client.appToForeground();
        TestTlsServer.Peer first = connect(client, "s-1", null);
        CompletableFuture<UpstreamReply> reply = client.sendMessage("notes", "pay order 7");
        UpstreamMessage sent = first.nextUpstream();

        // the connection dies before the answer
        first.close();
        TestTlsServer.Peer second = connect(client, "s-2", null);
        UpstreamMessage resent = second.nextUpstream();
        assertThat(resent).isEqualTo(sent);
        assertThat(reply).isNotDone();

        second.answer(resent, true, "PAID", "receipt-1", "");
        assertThat(reply.get(10, TimeUnit.SECONDS).payload()).isEqualTo("receipt-1");

        // answered: not sent again on the next connection
        second.close();
        TestTlsServer.Peer third = connect(client, "s-3", null);
        client.sendMessage("notes", "marker");
        assertThat(third.nextUpstream().getPayload()).isEqualTo("marker");
    }

    @Test
    void noAnswerWithinTheTimeoutFailsTheFutureAndALateAnswerIsIgnored() throws Exception {
        MssClient client = start(builder().upstreamTimeoutMillis(300));
        client.registerBiz("notes", received::add);
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);

        CompletableFuture<UpstreamReply> reply = client.sendMessage("notes", "hello?");
        UpstreamMessage m = peer.nextUpstream();
        await().atMost(WAIT).until(reply::isDone);
        assertThatThrownBy(reply::get).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(UpstreamTimeoutException.class)
                .hasMessageContaining(m.getClientMsgId());
        try {
            reply.get();
        } catch (ExecutionException e) {
            assertThat(((UpstreamTimeoutException) e.getCause()).clientMsgId()).isEqualTo(m.getClientMsgId());
        }

        peer.answer(m, true, "OK", "", "");
        // a timed-out message is not resent after a reconnect either
        peer.close();
        TestTlsServer.Peer next = connect(client, "s-2", null);
        client.sendMessage("notes", "marker");
        assertThat(next.nextUpstream().getPayload()).isEqualTo("marker");
    }

    @Test
    void theTimeoutAlsoRunsWhileDisconnected() throws Exception {
        MssClient client = start(builder().upstreamTimeoutMillis(200));
        CompletableFuture<UpstreamReply> reply = client.sendMessage("notes", "nobody there");
        await().atMost(WAIT).until(reply::isDone);
        assertThatThrownBy(reply::get).hasCauseInstanceOf(UpstreamTimeoutException.class);
    }

    @Test
    void thePayloadLimitAndTheBizTypeAreCheckedLocally() throws Exception {
        MssClient client = start(builder());
        client.registerBiz("notes", received::add);
        assertThatThrownBy(() -> client.sendMessage("notes", chars(MssClient.MAX_UPSTREAM_PAYLOAD_CHARS + 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4096");
        assertThatThrownBy(() -> client.sendMessage("", "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> client.sendMessage(null, "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> client.sendMessage("notes", null)).isInstanceOf(NullPointerException.class);

        CompletableFuture<UpstreamReply> atTheLimit = client.sendMessage("notes", chars(4096));
        client.appToForeground();
        TestTlsServer.Peer peer = connect(client, "s-1", null);
        UpstreamMessage m = peer.nextUpstream();
        assertThat(m.getPayload()).hasSize(4096);
        peer.answer(m, true, "OK", "", "");
        assertThat(atTheLimit.get(10, TimeUnit.SECONDS).success()).isTrue();
    }

    @Test
    void closeFailsPendingMessagesAndLaterSendsFailAtOnce() throws Exception {
        MssClient client = start(builder());
        CompletableFuture<UpstreamReply> pending = client.sendMessage("notes", "queued");
        client.close();
        await().atMost(WAIT).until(pending::isDone);
        assertThatThrownBy(pending::get).hasCauseInstanceOf(IllegalStateException.class);

        CompletableFuture<UpstreamReply> late = client.sendMessage("notes", "too late");
        assertThat(late).isCompletedExceptionally();
    }

    @Test
    void futuresCompleteOnTheCallbackExecutorNotOnTheClientsThreads() throws Exception {
        ExecutorService named = Executors.newSingleThreadExecutor(r -> new Thread(r, "app-callbacks"));
        try {
            MssClient client = start(builder().callbackExecutor(named));
            client.registerBiz("notes", received::add);
            client.appToForeground();
            TestTlsServer.Peer peer = connect(client, "s-1", null);
            AtomicReference<String> thread = new AtomicReference<>();
            CompletableFuture<UpstreamReply> reply = client.sendMessage("notes", "x");
            CompletableFuture<Void> seen = reply.thenAccept(r -> thread.set(Thread.currentThread().getName()));
            peer.answer(peer.nextUpstream(), true, "OK", "", "");
            seen.get(10, TimeUnit.SECONDS);
            assertThat(thread.get()).isEqualTo("app-callbacks");
        } finally {
            named.shutdownNow();
        }
    }
}
