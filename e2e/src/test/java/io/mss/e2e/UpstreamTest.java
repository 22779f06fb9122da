package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Ping;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.UpstreamMessage;
import io.mss.protocol.v1.UpstreamResult;
import io.mss.server.config.ServerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Upstream messages: app → server → the bizType's upstream webhook → UpstreamResult, with
 * idempotency by (device, client_msg_id) across reconnects. Bad requests are answered, and the
 * connection stays usable.
 */
class UpstreamTest {
    private static final int MAX_IN_FLIGHT = 2;
    private static final int TIMEOUT_MS = 700;

    @TempDir
    static Path tmp;
    static FakeBackend backend;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        backend = new FakeBackend()
                .on("/ok", body -> FakeBackend.Reply.json("{\"code\":\"ACCEPTED\",\"payload\":\"got "
                        + abbreviated(body.path("payload").asText()) + " from "
                        + body.path("userId").asText("anonymous") + "\"}"))
                .on("/huge", body -> FakeBackend.Reply.json("{\"code\":\"OK\",\"payload\":\""
                        + "y".repeat(new ServerConfig().maxPayloadChars + 1) + "\"}"))
                .on("/error", body -> new FakeBackend.Reply(500, "{\"oops\":true}"))
                .on("/junk", body -> FakeBackend.Reply.json("<html>not json</html>"))
                .on("/slow", body -> FakeBackend.HANG);
        server = TestServer.start(tmp.resolve("server"), c -> {
            c.upstreamTimeoutMs = TIMEOUT_MS;
            c.upstreamMaxInFlight = MAX_IN_FLIGHT;
        });
        createBizType("CHAT", backend.url("/ok"));
        createBizType("BROKEN", backend.url("/error"));
        createBizType("JUNK", backend.url("/junk"));
        createBizType("HUGE", backend.url("/huge"));
        createBizType("SLOW", backend.url("/slow"));
        createBizType("PUSH-ONLY", null);
    }

    @AfterAll
    static void stop() {
        server.close();
        backend.close();
    }

    private static String abbreviated(String payload) {
        return payload.length() <= 100 ? payload : payload.length() + " chars";
    }

    /** A USER bizType with that upstream webhook (null: none), through the API. */
    static void createBizType(String id, String upstreamWebhook) {
        Map<String, Object> body = new LinkedHashMap<>(Map.of("id", id, "range", "APPOINTED", "target", "USER"));
        if (upstreamWebhook != null) {
            body.put("upstreamWebhook", upstreamWebhook);
        }
        Api.Answer answer = server.api.post("/api/v1/biz-types", body);
        assertThat(answer.status()).as("create %s: %s", id, answer).isEqualTo(201);
    }

    /** A connected, caught-up device of {@code user} (null: anonymous). */
    static RawConnection connect(String device, String user) throws Exception {
        RawConnection c = new RawConnection(server.syncPort(), server.certFile());
        c.send(ClientFrame.newBuilder().setHello(Hello.newBuilder()
                .setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                .setToken(TestServer.token(device, user)).setDeviceId(device).addBizTypes("CHAT")).build());
        assertThat(c.read().getKindCase()).isEqualTo(ServerFrame.KindCase.WELCOME);
        assertThat(c.read().getSyncData().getHasMore()).isFalse();
        return c;
    }

    static void send(RawConnection c, String clientMsgId, String bizType, String payload) throws Exception {
        c.send(ClientFrame.newBuilder().setUpstream(UpstreamMessage.newBuilder()
                .setClientMsgId(clientMsgId).setBizType(bizType).setPayload(payload)).build());
    }

    /** The next {@code n} upstream results, by client_msg_id (several results may share one). */
    static Map<String, List<UpstreamResult>> results(RawConnection c, int n) throws Exception {
        Map<String, List<UpstreamResult>> byId = new HashMap<>();
        for (int i = 0; i < n; i++) {
            ServerFrame frame = c.read();
            assertThat(frame).isNotNull();
            assertThat(frame.getKindCase()).as("frame %s", frame).isEqualTo(ServerFrame.KindCase.UPSTREAM_RESULT);
            byId.computeIfAbsent(frame.getUpstreamResult().getClientMsgId(), k -> new java.util.ArrayList<>())
                    .add(frame.getUpstreamResult());
        }
        return byId;
    }

    static UpstreamResult roundTrip(RawConnection c, String clientMsgId, String bizType, String payload)
            throws Exception {
        send(c, clientMsgId, bizType, payload);
        UpstreamResult result = results(c, 1).get(clientMsgId).get(0);
        assertThat(result.getClientMsgId()).isEqualTo(clientMsgId);
        return result;
    }

    static List<JsonNode> forwarded(String path, String deviceId, String clientMsgId) {
        return backend.calls(path).stream()
                .filter(b -> b.path("deviceId").asText().equals(deviceId)
                        && b.path("clientMsgId").asText().equals(clientMsgId))
                .toList();
    }

    static void assertStillUsable(RawConnection c) throws Exception {
        c.send(ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(77)).build());
        assertThat(c.read().getPong().getTimestamp()).isEqualTo(77);
    }

    @Test
    void aMessageReachesTheWebhookAndItsAnswerComesBack() throws Exception {
        try (RawConnection c = connect("anna-phone", "anna")) {
            UpstreamResult result = roundTrip(c, "m-1", "CHAT", "hello");
            assertThat(result.getSuccess()).isTrue();
            assertThat(result.getCode()).isEqualTo("ACCEPTED");
            assertThat(result.getPayload()).isEqualTo("got hello from anna");
            assertThat(result.getMessage()).isEmpty();
        }
        List<JsonNode> calls = forwarded("/ok", "anna-phone", "m-1");
        assertThat(calls).hasSize(1);
        JsonNode call = calls.get(0);
        assertThat(call.path("bizType").asText()).isEqualTo("CHAT");
        assertThat(call.path("userId").asText()).isEqualTo("anna");
        assertThat(call.path("payload").asText()).isEqualTo("hello");
    }

    @Test
    void anAnonymousDeviceSendsWithoutAUser() throws Exception {
        try (RawConnection c = connect("kiosk-1", null)) {
            assertThat(roundTrip(c, "k-1", "CHAT", "hi").getPayload()).isEqualTo("got hi from anonymous");
        }
        assertThat(forwarded("/ok", "kiosk-1", "k-1").get(0).path("userId").isNull()).isTrue();
    }

    @Test
    void aResendIsAnsweredWithTheFirstResultAndForwardedOnce() throws Exception {
        UpstreamResult first;
        try (RawConnection c = connect("ben-phone", "ben")) {
            // back to back: the second joins the first in flight, or finds its result
            send(c, "m-7", "CHAT", "order pizza");
            send(c, "m-7", "CHAT", "order pizza");
            List<UpstreamResult> both = results(c, 2).get("m-7");
            assertThat(both).hasSize(2);
            first = both.get(0);
            assertThat(first.getSuccess()).isTrue();
            assertThat(both.get(1)).isEqualTo(first);
            // later, on the same connection
            assertThat(roundTrip(c, "m-7", "CHAT", "order pizza")).isEqualTo(first);
        }
        // after a reconnect of the same device
        try (RawConnection c = connect("ben-phone", "ben")) {
            assertThat(roundTrip(c, "m-7", "CHAT", "order pizza")).isEqualTo(first);
        }
        assertThat(forwarded("/ok", "ben-phone", "m-7")).hasSize(1);
        // the same client_msg_id from another device is another message
        try (RawConnection c = connect("ben-tablet", "ben")) {
            assertThat(roundTrip(c, "m-7", "CHAT", "order pizza").getSuccess()).isTrue();
        }
        assertThat(forwarded("/ok", "ben-tablet", "m-7")).hasSize(1);
    }

    @Test
    void aSlowWebhookIsAWebhookTimeoutAndItsResendIsNotForwardedAgain() throws Exception {
        try (RawConnection c = connect("cleo-phone", "cleo")) {
            send(c, "s-1", "SLOW", "are you there");
            await().atMost(Duration.ofSeconds(5)).until(() -> forwarded("/slow", "cleo-phone", "s-1").size() == 1);
            send(c, "s-1", "SLOW", "are you there");
            List<UpstreamResult> both = results(c, 2).get("s-1");
            assertThat(both).hasSize(2).allSatisfy(r -> {
                assertThat(r.getSuccess()).isFalse();
                assertThat(r.getCode()).isEqualTo("WEBHOOK_TIMEOUT");
                assertThat(r.getMessage()).contains(TIMEOUT_MS + " ms");
            });
        }
        // the webhook may have acted on it: a resend after a reconnect gets the same answer
        try (RawConnection c = connect("cleo-phone", "cleo")) {
            assertThat(roundTrip(c, "s-1", "SLOW", "are you there").getCode()).isEqualTo("WEBHOOK_TIMEOUT");
        }
        assertThat(forwarded("/slow", "cleo-phone", "s-1")).hasSize(1);
    }

    @Test
    void aWebhookAnswering500IsAWebhookError() throws Exception {
        try (RawConnection c = connect("dan-phone", "dan")) {
            UpstreamResult result = roundTrip(c, "e-1", "BROKEN", "x");
            assertThat(result.getSuccess()).isFalse();
            assertThat(result.getCode()).isEqualTo("WEBHOOK_ERROR");
            assertThat(result.getMessage()).contains("500");
            assertStillUsable(c);
        }
    }

    @Test
    void aWebhookAnsweringSomethingElseThanTheExpectedJsonIsAWebhookError() throws Exception {
        try (RawConnection c = connect("eve-phone", "eve")) {
            UpstreamResult result = roundTrip(c, "j-1", "JUNK", "x");
            assertThat(result.getSuccess()).isFalse();
            assertThat(result.getCode()).isEqualTo("WEBHOOK_ERROR");
            assertThat(result.getMessage()).contains("JSON");
            UpstreamResult huge = roundTrip(c, "j-2", "HUGE", "x");
            assertThat(huge.getSuccess()).isFalse();
            assertThat(huge.getCode()).isEqualTo("WEBHOOK_ERROR");
            assertThat(huge.getMessage()).contains("payload exceeds");
        }
    }

    @Test
    void bizTypesWithoutWebhookOrUnknownAreRefusedAndNothingIsForwarded() throws Exception {
        int callsBefore = backend.calls.size();
        try (RawConnection c = connect("fay-phone", "fay")) {
            UpstreamResult none = roundTrip(c, "n-1", "PUSH-ONLY", "x");
            assertThat(none.getSuccess()).isFalse();
            assertThat(none.getCode()).isEqualTo("NO_WEBHOOK");
            assertThat(none.getMessage()).contains("PUSH-ONLY");
            UpstreamResult unknown = roundTrip(c, "n-2", "NO-SUCH-BIZ", "x");
            assertThat(unknown.getSuccess()).isFalse();
            assertThat(unknown.getCode()).isEqualTo("BIZ_TYPE_NOT_FOUND");
            assertThat(unknown.getMessage()).contains("NO-SUCH-BIZ");
            assertStillUsable(c);
        }
        assertThat(backend.calls.size()).isEqualTo(callsBefore);
    }

    @Test
    void invalidRequestsAreAnsweredAndTheConnectionStaysUsable() throws Exception {
        int max = new ServerConfig().maxPayloadChars;
        try (RawConnection c = connect("gus-phone", "gus")) {
            UpstreamResult tooLarge = roundTrip(c, "big-1", "CHAT", "x".repeat(max + 1));
            assertThat(tooLarge.getSuccess()).isFalse();
            assertThat(tooLarge.getCode()).isEqualTo("INVALID_REQUEST");
            assertThat(tooLarge.getMessage()).contains(String.valueOf(max));
            assertStillUsable(c);

            assertThat(roundTrip(c, "", "CHAT", "x").getCode()).isEqualTo("INVALID_REQUEST");
            String longId = "i".repeat(65);
            assertThat(roundTrip(c, longId, "CHAT", "x").getCode()).isEqualTo("INVALID_REQUEST");
            assertThat(roundTrip(c, "no-biz", "", "x").getCode()).isEqualTo("INVALID_REQUEST");
            assertStillUsable(c);

            // characters are code points: an emoji (two UTF-16 units) is one
            String emoji = "\uD83D\uDE00";
            assertThat(roundTrip(c, "emoji-over", "CHAT", emoji.repeat(max + 1)).getCode()).isEqualTo("INVALID_REQUEST");
            assertThat(roundTrip(c, "emoji-max", "CHAT", emoji.repeat(max)).getSuccess()).isTrue();

            // a refusal is not kept: the same id, corrected, goes through
            assertThat(roundTrip(c, "big-1", "CHAT", "x".repeat(max)).getSuccess()).isTrue();
            assertThat(roundTrip(c, "i".repeat(64), "CHAT", "x").getSuccess()).isTrue();
        }
        assertThat(forwarded("/ok", "gus-phone", "big-1")).hasSize(1);
    }

    @Test
    void beyondTheInFlightLimitMessagesAreAnsweredServerBusy() throws Exception {
        try (RawConnection c = connect("hal-phone", "hal")) {
            for (int i = 0; i < MAX_IN_FLIGHT; i++) {
                send(c, "busy-" + i, "SLOW", "x");
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> backend.calls("/slow").stream()
                    .filter(b -> b.path("deviceId").asText().equals("hal-phone")).count() == MAX_IN_FLIGHT);
            UpstreamResult busy = roundTrip(c, "busy-extra", "SLOW", "x");
            assertThat(busy.getSuccess()).isFalse();
            assertThat(busy.getCode()).isEqualTo("SERVER_BUSY");
            Map<String, List<UpstreamResult>> timedOut = results(c, MAX_IN_FLIGHT);
            assertThat(timedOut.values()).allSatisfy(r -> assertThat(r.get(0).getCode()).isEqualTo("WEBHOOK_TIMEOUT"));
            // SERVER_BUSY is not kept: once there is room, the same id is forwarded
            assertThat(roundTrip(c, "busy-extra", "CHAT", "x").getSuccess()).isTrue();
        }
        assertThat(forwarded("/ok", "hal-phone", "busy-extra")).hasSize(1);
    }
}
