package io.mss.e2e;

import io.mss.client.MessageCallback;
import io.mss.client.MssClient;
import io.mss.client.SyncMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The SDK's on-disk inbox against the real server: messages are stored (and acked to the
 * server) before the app handles them, a callback that keeps failing is retried and then
 * dropped with an event, and messages of a bizType nobody registered wait for it.
 */
class SdkInboxTest {
    @TempDir
    Path tmp;
    TestServer server;
    MssClient client;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"));
        server.api.createBizType("ORDER", "APPOINTED", "USER");
        server.api.createBizType("CHAT", "APPOINTED", "USER");
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        server.close();
    }

    private MssClient client(Path state) {
        return MssClient.builder()
                .server("localhost", server.syncPort())
                .trustCertificate(server.certFile().toFile())
                .deviceId("ivy-phone")
                .tokenProvider((did, uid) -> TestServer.token(did, uid))
                .stateDir(state.toFile())
                .reconnectBackoff(50, 500)
                .redeliveryBackoff(20, 100)
                .build();
    }

    @Test
    void aCallbackThatKeepsFailingIsRetriedSixTimesThenDroppedAndTheScopeMovesOn() {
        AtomicInteger attempts = new AtomicInteger();
        List<String> dropped = new CopyOnWriteArrayList<>();
        List<String> handled = new CopyOnWriteArrayList<>();
        client = client(tmp.resolve("state"));
        client.registerBiz("ORDER", new MessageCallback() {
            @Override
            public void onMessage(SyncMessage message) {
                if (message.payload().equals("poison")) {
                    attempts.incrementAndGet();
                    throw new IllegalStateException("the app cannot parse this");
                }
                handled.add(message.payload());
                client.reportMsgReceived(message);
            }

            @Override
            public void onMessageDropped(SyncMessage message, String reason) {
                dropped.add(message.payload() + ": " + reason);
            }
        });
        client.updateUserInfo("ivy");
        server.api.push("ORDER", "ivy", "poison", null);
        server.api.push("ORDER", "ivy", "fine", null);
        client.appToForeground();

        await().atMost(Duration.ofSeconds(20)).until(() -> handled.contains("fine"));
        assertThat(attempts.get()).isEqualTo(MssClient.MAX_DELIVERY_ATTEMPTS);
        assertThat(dropped).hasSize(1);
        assertThat(dropped.get(0)).startsWith("poison: ");
        // the server learnt both were stored on the device, whatever the app made of them
        Api.Answer status = server.api.call("GET", "/api/v1/push/ORDER/2?linkToken=ivy", null);
        assertThat(status.body().path("acked").toString()).contains("ivy-phone");
    }

    @Test
    void messagesOfAnUnregisteredBizTypeWaitInTheInboxUntilItIsRegistered() {
        Path state = tmp.resolve("state");
        List<String> first = new CopyOnWriteArrayList<>();
        client = client(state);
        // this app version stores CHAT messages but never finishes handling them
        client.registerBiz("CHAT", m -> first.add(m.payload()));
        client.registerBiz("ORDER", m -> client.reportMsgReceived(m));
        client.updateUserInfo("ivy");
        server.api.push("CHAT", "ivy", "hello", null);
        client.appToForeground();
        await().atMost(Duration.ofSeconds(10)).until(() -> first.contains("hello"));
        await().atMost(Duration.ofSeconds(10)).until(() ->
                server.api.call("GET", "/api/v1/push/CHAT/1?linkToken=ivy", null).body().path("acked").size() == 1);
        client.close();

        // restarted without a CHAT callback: the message stays in the inbox, nothing is resent
        List<String> later = new CopyOnWriteArrayList<>();
        client = client(state);
        client.registerBiz("ORDER", m -> client.reportMsgReceived(m));
        client.updateUserInfo("ivy");
        client.appToForeground();
        await().atMost(Duration.ofSeconds(10)).until(client::isConnected);
        server.api.push("CHAT", "ivy", "while unregistered", null);
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(later::isEmpty);

        client.registerBiz("CHAT", m -> {
            later.add(m.payload());
            client.reportMsgReceived(m);
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> later.size() == 2);
        assertThat(later).containsExactly("hello", "while unregistered");
    }
}
