package io.mss.e2e;

import io.mss.client.MssClient;
import io.mss.client.SyncMessage;
import io.mss.client.UpstreamReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The SDK against the real server for what involves the business backend: users proven by a
 * session-validation webhook, user switches on one device, and upstream messages relayed to
 * a bizType's webhook and answered back to the app.
 */
class SdkIdentityAndUpstreamTest {
    private static final String VALIDATE = "/validate";
    private static final String UPSTREAM = "/upstream";

    @TempDir
    Path tmp;
    FakeBackend backend;
    TestServer server;
    MssClient client;
    final List<SyncMessage> received = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        backend = new FakeBackend();
        backend.on(VALIDATE, body -> FakeBackend.Reply.json("{\"valid\":"
                + body.path("sessionId").asText().equals("good-session-of-" + body.path("userId").asText()) + "}"));
        backend.on(UPSTREAM, body -> FakeBackend.Reply.json("{\"code\":\"ACCEPTED\",\"payload\":\"echo:"
                + body.path("payload").asText() + " from " + body.path("userId").asText() + "\"}"));
        server = TestServer.start(tmp.resolve("server"), c -> c.sessionValidationUrl = backend.url(VALIDATE));
        server.api.post("/api/v1/biz-types", Map.of("id", "MAIL", "range", "APPOINTED", "target", "USER",
                "upstreamWebhook", backend.url(UPSTREAM)));
        // tokens name only the device: users are proven by their business session
        client = MssClient.builder()
                .server("localhost", server.syncPort())
                .trustCertificate(server.certFile().toFile())
                .deviceId("shared-tablet")
                .tokenProvider((did, uid) -> TestServer.token(did, null))
                .stateDir(tmp.resolve("state").toFile())
                .reconnectBackoff(50, 500)
                .autoAck(true)
                .build();
        client.registerBiz("MAIL", received::add);
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
        backend.close();
    }

    @Test
    void aValidatedUserGetsTheirDataAndASwitchedUserNeverSeesIt() {
        server.api.push("MAIL", "alice", "for alice", null);
        server.api.push("MAIL", "bob", "for bob", null);

        client.updateUserInfo("alice", "good-session-of-alice");
        client.appToForeground();
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
        assertThat(received.get(0).payload()).isEqualTo("for alice");
        assertThat(received.get(0).userId()).isEqualTo("alice");

        client.clearUserInfo();
        client.updateUserInfo("bob", "good-session-of-bob");
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
        assertThat(received.get(1).payload()).isEqualTo("for bob");
        assertThat(received.get(1).userId()).isEqualTo("bob");

        // a forged session: refused, and nothing of carol's reaches this device
        server.api.push("MAIL", "carol", "for carol", null);
        client.updateUserInfo("carol", "stolen-session");
        await().during(Duration.ofMillis(800)).atMost(Duration.ofSeconds(3)).until(() -> received.size() == 2);
        assertThat(client.isConnected()).isFalse();
        assertThat(received).extracting(SyncMessage::payload).doesNotContain("for carol");
    }

    @Test
    void anUpstreamMessageReachesTheBackendOnceAndItsAnswerComesBack() throws Exception {
        client.updateUserInfo("alice", "good-session-of-alice");
        client.appToForeground();
        await().atMost(Duration.ofSeconds(10)).until(client::isConnected);

        UpstreamReply reply = client.sendMessage("MAIL", "mark read").get(10, TimeUnit.SECONDS);
        assertThat(reply.success()).isTrue();
        assertThat(reply.code()).isEqualTo("ACCEPTED");
        assertThat(reply.payload()).isEqualTo("echo:mark read from alice");
        assertThat(backend.calls(UPSTREAM)).hasSize(1);
        assertThat(backend.calls(UPSTREAM).get(0).path("deviceId").asText()).isEqualTo("shared-tablet");

        UpstreamReply noWebhook = client.sendMessage("NO-SUCH-BIZ", "x").get(10, TimeUnit.SECONDS);
        assertThat(noWebhook.success()).isFalse();
        assertThat(noWebhook.code()).isEqualTo("BIZ_TYPE_NOT_FOUND");
    }
}
