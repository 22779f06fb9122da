package io.mss.e2e;

import io.mss.protocol.Frames;
import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.Ping;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The session-validation webhook: a token without {@code sub} may claim a user in
 * {@code Hello.user_id}, proven by {@code Hello.session_id}, and the business backend decides.
 * USER data reaches only users that the token or the backend vouched for.
 */
class SessionValidationTest {
    private static final String VALIDATE = "/validate";

    @TempDir
    static Path tmp;
    static FakeBackend backend;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        backend = new FakeBackend().on(VALIDATE, body -> {
            String user = body.path("userId").asText();
            String session = body.path("sessionId").asText();
            if (user.equals("flaky")) {
                return new FakeBackend.Reply(503, "{\"error\":\"maintenance\"}");
            }
            if (user.equals("slowpoke")) {
                return FakeBackend.HANG;
            }
            if (user.equals("garbled")) {
                return FakeBackend.Reply.json("{\"ok\":1}");
            }
            return FakeBackend.Reply.json("{\"valid\":" + session.equals("good-" + user) + "}");
        });
        server = TestServer.start(tmp.resolve("server"), c -> {
            c.sessionValidationUrl = backend.url(VALIDATE);
            c.sessionValidationTimeoutMs = 1000;
        });
        server.api.createBizType("ORDER", "APPOINTED", "USER");
        server.api.createBizType("PHONE", "APPOINTED", "DEVICE");
    }

    @AfterAll
    static void stop() {
        server.close();
        backend.close();
    }

    static ClientFrame hello(String token, String deviceId, String userId, String sessionId) {
        return ClientFrame.newBuilder().setHello(Hello.newBuilder()
                .setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                .setToken(token).setDeviceId(deviceId).setUserId(userId).setSessionId(sessionId)
                .addBizTypes("ORDER").addBizTypes("PHONE")).build();
    }

    /** An anonymous token (no {@code sub}) for the device, claiming {@code user} with {@code session}. */
    static ClientFrame claim(String device, String user, String session) {
        return hello(TestServer.token(device, null), device, user, session);
    }

    private List<JsonLike> validationsOf(String user) {
        return backend.calls(VALIDATE).stream().filter(b -> b.path("userId").asText().equals(user))
                .map(b -> new JsonLike(b.path("userId").asText(), b.path("sessionId").asText(),
                        b.path("deviceId").asText()))
                .toList();
    }

    record JsonLike(String userId, String sessionId, String deviceId) {
    }

    static void assertRefused(RawConnection c, ErrorCode code, boolean retry, String messagePart) throws Exception {
        ServerFrame frame = c.read();
        assertThat(frame).isNotNull();
        assertThat(frame.getKindCase()).as("frame %s", frame).isEqualTo(ServerFrame.KindCase.ERROR);
        assertThat(frame.getError().getCode()).isEqualTo(code);
        assertThat(frame.getError().getRetry()).isEqualTo(retry);
        assertThat(frame.getError().getMessage()).containsIgnoringCase(messagePart);
        assertThat(c.closedByServer()).isTrue();
    }

    /** Payloads of the USER scope in a SyncData frame. */
    static List<String> userPayloads(ServerFrame frame) {
        List<String> payloads = new ArrayList<>();
        frame.getSyncData().getBatchesList().stream()
                .filter(b -> b.getBizType().equals("ORDER") && b.getScope() == ScopeKind.USER)
                .forEach(b -> b.getOplogsList().stream().map(Oplog::getPayload).forEach(payloads::add));
        return payloads;
    }

    @Test
    void aValidatedSessionIsThatUserAndGetsItsUserData() throws Exception {
        assertThat(server.api.push("ORDER", "alice", "order 1 paid", null).status()).isEqualTo(200);
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(claim("alice-phone", "alice", "good-alice"));
            ServerFrame welcome = c.read();
            assertThat(welcome.getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
            assertThat(welcome.getWelcome().getUserId()).isEqualTo("alice");
            assertThat(welcome.getWelcome().getDeviceId()).isEqualTo("alice-phone");
            ServerFrame catchUp = c.read();
            assertThat(catchUp.getSyncData().getHasMore()).isFalse();
            assertThat(userPayloads(catchUp)).containsExactly("order 1 paid");

            // live: a push to alice reaches the validated session
            assertThat(server.api.push("ORDER", "alice", "order 1 shipped", null).status()).isEqualTo(200);
            assertThat(userPayloads(c.read())).containsExactly("order 1 shipped");
        }
        assertThat(validationsOf("alice")).containsExactly(new JsonLike("alice", "good-alice", "alice-phone"));
    }

    @Test
    void anInvalidSessionIsRefusedAndGetsNoUserData() throws Exception {
        assertThat(server.api.push("ORDER", "bob", "bob's secret order", null).status()).isEqualTo(200);
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(claim("mallory-phone", "bob", "stolen-or-made-up"));
            // the first and only frame is the refusal: no Welcome, no SyncData
            assertRefused(c, ErrorCode.USER_SESSION_INVALID, false, "session");
        }
        assertThat(validationsOf("bob")).hasSize(1);
    }

    @Test
    void answersAreCachedPerUserAndSessionBothWays() throws Exception {
        for (int i = 0; i < 2; i++) {
            try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
                c.send(claim("carol-phone-" + i, "carol", "good-carol"));
                assertThat(c.read().getWelcome().getUserId()).isEqualTo("carol");
            }
            try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
                c.send(claim("dave-phone", "dave", "expired-session"));
                assertRefused(c, ErrorCode.USER_SESSION_INVALID, false, "session");
            }
        }
        assertThat(validationsOf("carol")).hasSize(1);
        assertThat(validationsOf("dave")).hasSize(1);
        // another session of the same user is a new question
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(claim("carol-tablet", "carol", "other-session"));
            assertRefused(c, ErrorCode.USER_SESSION_INVALID, false, "session");
        }
        assertThat(validationsOf("carol")).hasSize(2);
    }

    @Test
    void aFailingWebhookIsRefusedAsRetryableAndNotCached() throws Exception {
        for (int i = 0; i < 2; i++) {
            try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
                c.send(claim("flaky-phone", "flaky", "good-flaky"));
                assertRefused(c, ErrorCode.USER_SESSION_INVALID, true, "503");
            }
        }
        assertThat(validationsOf("flaky")).hasSize(2);
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(claim("garbled-phone", "garbled", "good-garbled"));
            assertRefused(c, ErrorCode.USER_SESSION_INVALID, true, "valid");
        }
    }

    @Test
    void aWebhookSlowerThanTheTimeoutIsRefusedAsRetryable() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(claim("slow-phone", "slowpoke", "good-slowpoke"));
            assertRefused(c, ErrorCode.USER_SESSION_INVALID, true, "1000 ms");
        }
    }

    @Test
    void aWebhookThatIsDownIsRefusedAsRetryable(@TempDir Path dir) throws Exception {
        try (TestServer down = TestServer.start(dir, c -> c.sessionValidationUrl = FakeBackend.unreachableUrl(VALIDATE));
             RawConnection c = new RawConnection(down.syncPort(), down.certFile())) {
            c.send(claim("erin-phone", "erin", "good-erin"));
            assertRefused(c, ErrorCode.USER_SESSION_INVALID, true, "try again later");
        }
    }

    @Test
    void aTokenUserCannotBeChangedByHelloAndIsNotAskedAbout() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(hello(TestServer.token("frank-phone", "frank"), "frank-phone", "george", "good-george"));
            assertRefused(c, ErrorCode.USER_SESSION_INVALID, false, "sub");
        }
        // repeating the token's user is fine, with or without a session
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(hello(TestServer.token("frank-phone", "frank"), "frank-phone", "frank", "whatever"));
            assertThat(c.read().getWelcome().getUserId()).isEqualTo("frank");
        }
        assertThat(validationsOf("george")).isEmpty();
        assertThat(validationsOf("frank")).isEmpty();
    }

    @Test
    void aClaimWithoutSessionIdIsRefused() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(claim("hank-phone", "hank", ""));
            assertRefused(c, ErrorCode.USER_SESSION_INVALID, false, "session_id");
        }
        assertThat(validationsOf("hank")).isEmpty();
    }

    @Test
    void anAnonymousDeviceStillConnectsWithoutAUser() throws Exception {
        server.api.push("PHONE", "ivy-phone", "device note", null);
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(claim("ivy-phone", "", ""));
            ServerFrame welcome = c.read();
            assertThat(welcome.getWelcome().getUserId()).isEmpty();
            ServerFrame catchUp = c.read();
            assertThat(catchUp.getSyncData().getBatchesList()).allSatisfy(b -> {
                assertThat(b.getBizType()).isEqualTo("PHONE");
                assertThat(b.getScope()).isEqualTo(ScopeKind.DEVICE);
            });
        }
    }

    @Test
    void framesSentRightBehindTheHelloAreServedOnceTheUserIsValidated() throws Exception {
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            ByteArrayOutputStream both = new ByteArrayOutputStream();
            both.write(Frames.encode(claim("judy-phone", "judy", "good-judy")));
            both.write(Frames.encode(ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(42)).build()));
            c.sendRaw(both.toByteArray());
            assertThat(c.read().getWelcome().getUserId()).isEqualTo("judy");
            ServerFrame next = c.read();
            while (next.getKindCase() == ServerFrame.KindCase.SYNC_DATA) {
                next = c.read();
            }
            assertThat(next.getPong().getTimestamp()).isEqualTo(42);
        }
    }

    @Test
    void validationOffRefusesAClaimedUser(@TempDir Path dir) throws Exception {
        try (TestServer off = TestServer.start(dir)) {
            try (RawConnection c = new RawConnection(off.syncPort(), off.certFile())) {
                c.send(claim("kate-phone", "kate", "good-kate"));
                assertRefused(c, ErrorCode.USER_SESSION_INVALID, false, "not configured");
            }
            // a token user still works there
            try (RawConnection c = new RawConnection(off.syncPort(), off.certFile())) {
                c.send(hello(TestServer.token("kate-phone", "kate"), "kate-phone", "", ""));
                assertThat(c.read().getWelcome().getUserId()).isEqualTo("kate");
            }
        }
    }

    @Test
    void waitingForTheWebhookDoesNotHoldUpOtherConnections(@TempDir Path dir) throws Exception {
        try (FakeBackend gate = new FakeBackend().on(VALIDATE, body -> FakeBackend.HANG);
             TestServer slow = TestServer.start(dir, c -> {
                 c.sessionValidationUrl = gate.url(VALIDATE);
                 c.sessionValidationTimeoutMs = 20_000;
             })) {
            // more waiting handshakes than the server has event loops
            int waiting = 2 * Runtime.getRuntime().availableProcessors() * 2;
            List<RawConnection> pending = new ArrayList<>();
            try {
                for (int i = 0; i < waiting; i++) {
                    RawConnection c = new RawConnection(slow.syncPort(), slow.certFile());
                    pending.add(c);
                    c.send(claim("waiting-" + i, "user-" + i, "session-" + i));
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> gate.calls(VALIDATE).size() == waiting);
                // every event loop has a handshake waiting on the webhook, and still serves others
                for (int i = 0; i < waiting; i++) {
                    try (RawConnection c = new RawConnection(slow.syncPort(), slow.certFile())) {
                        c.send(hello(TestServer.token("other-" + i, "other-" + i), "other-" + i, "", ""));
                        assertThat(c.read().getWelcome().getUserId()).isEqualTo("other-" + i);
                    }
                }
                // the webhook answers ({} has no 'valid'): the waiting handshakes end now, not earlier
                gate.release();
                for (RawConnection c : pending) {
                    assertRefused(c, ErrorCode.USER_SESSION_INVALID, true, "valid");
                }
            } finally {
                for (RawConnection c : pending) {
                    c.close();
                }
            }
        }
    }
}
