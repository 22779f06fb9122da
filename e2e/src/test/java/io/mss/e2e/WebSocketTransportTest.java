package io.mss.e2e;

import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.BizBatch;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.Ping;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The WebSocket port end to end with the JDK's WebSocket client over real TLS: the same
 * handshake, catch-up, acks, heartbeats and refusals as the sync port, one frame per binary
 * message, and close statuses a browser can read.
 */
class WebSocketTransportTest {
    private static final String APP_ORIGIN = "https://app.example.com";

    @TempDir
    Path tmp;

    private TestServer server;
    private EventLog events;

    @BeforeEach
    void start() throws Exception {
        events = new EventLog();
        server = TestServer.start(tmp.resolve("data"), c -> c.wsAllowedOrigins = List.of(APP_ORIGIN));
        server.api.createBizType("ORDER-STATUS", "APPOINTED", "USER");
    }

    @AfterEach
    void stop() {
        server.close();
        events.close();
    }

    private static ClientFrame hello(String token, String deviceId, SyncPoint... syncPoints) {
        return ClientFrame.newBuilder().setHello(Hello.newBuilder().setMinVersion(1).setMaxVersion(2)
                .setToken(token).setDeviceId(deviceId).setOsType("web").addBizTypes("ORDER-STATUS")
                .addAllSyncPoints(List.of(syncPoints))).build();
    }

    private void push(String user, String payload) {
        assertThat(server.api.push("ORDER-STATUS", user, payload, null).status()).isEqualTo(200);
    }

    /** Reads SyncData frames until the catch-up ends; returns the oplogs in arrival order. */
    private static List<Oplog> catchUp(WebSocketConnection ws) throws Exception {
        List<Oplog> oplogs = new ArrayList<>();
        while (true) {
            ServerFrame frame = ws.read();
            assertThat(frame).as("connection closed during catch-up").isNotNull();
            if (frame.hasSyncData()) {
                frame.getSyncData().getBatchesList().forEach(b -> oplogs.addAll(b.getOplogsList()));
                if (!frame.getSyncData().getHasMore()) {
                    return oplogs;
                }
            }
        }
    }

    @Test
    void handshakeCatchUpAckAndLiveDeliveryOverWss() throws Exception {
        push("alice", "one");
        push("alice", "two");
        push("alice", "three");
        BizBatch live;
        try (WebSocketConnection ws = WebSocketConnection.open(server.wsPort(), server.certFile(), APP_ORIGIN)) {
            ws.send(hello(TestServer.token("browser-1", "alice"), "browser-1"));
            ServerFrame welcome = ws.read();
            assertThat(welcome.hasWelcome()).as(welcome.toString()).isTrue();
            assertThat(welcome.getWelcome().getUserId()).isEqualTo("alice");
            assertThat(catchUp(ws)).extracting(Oplog::getPayload).containsExactly("one", "two", "three");

            ws.send(ClientFrame.newBuilder().setAck(Ack.newBuilder().addSyncPoints(SyncPoint.newBuilder()
                    .setBizType("ORDER-STATUS").setScope(ScopeKind.USER).setId(3))).build());
            ws.send(ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(7)).build());
            ServerFrame pong = ws.read();
            assertThat(pong.getPong().getTimestamp()).isEqualTo(7);

            push("alice", "four");
            ServerFrame next = ws.read();
            live = next.getSyncData().getBatches(0);
            assertThat(live.getOplogs(0).getPayload()).isEqualTo("four");
            assertThat(events.lines()).anyMatch(l -> l.startsWith("connect ") && l.contains("device=browser-1")
                    && l.endsWith("transport=ws"));
            assertThat(scrape()).contains("mss_transport_connections{transport=\"ws\"} 1.0");
        }
        // the ack moved the server's sync point: a fresh connection without sync points resumes above 3
        try (WebSocketConnection ws = WebSocketConnection.open(server.wsPort(), server.certFile(), null)) {
            ws.send(hello(TestServer.token("browser-1", "alice"), "browser-1"));
            assertThat(ws.read().hasWelcome()).isTrue();
            assertThat(catchUp(ws)).extracting(Oplog::getPayload).containsExactly("four");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> events.lines().stream()
                .anyMatch(l -> l.startsWith("disconnect ") && l.endsWith("transport=ws")));
    }

    private String scrape() throws Exception {
        java.net.http.HttpResponse<String> answer = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.server.httpPort()
                        + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        return answer.body();
    }

    @Test
    void aBadTokenGetsTheErrorFrameThenACloseNamingTheCode() throws Exception {
        try (WebSocketConnection ws = WebSocketConnection.open(server.wsPort(), server.certFile(), APP_ORIGIN)) {
            ws.send(hello("not-a-jwt", "browser-1"));
            ServerFrame error = ws.read();
            assertThat(error.getError().getCode()).isEqualTo(ErrorCode.INVALID_TOKEN);
            assertThat(error.getError().getRetry()).isFalse();
            WebSocketConnection.Closed closed = ws.awaitClose();
            assertThat(closed.status()).isEqualTo(4000 + ErrorCode.INVALID_TOKEN_VALUE);
            assertThat(closed.reason()).isEqualTo("INVALID_TOKEN");
        }
    }

    @Test
    void aFrameOtherThanHelloFirstIsRefusedAsOnTcp() throws Exception {
        try (WebSocketConnection ws = WebSocketConnection.open(server.wsPort(), server.certFile(), null)) {
            ws.send(ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(1)).build());
            assertThat(ws.read().getError().getCode()).isEqualTo(ErrorCode.HANDSHAKE_REQUIRED);
            assertThat(ws.awaitClose().status()).isEqualTo(4000 + ErrorCode.HANDSHAKE_REQUIRED_VALUE);
        }
    }

    @Test
    void anotherOriginIsClosedWithAReasonAndNothingItSendsIsRead() throws Exception {
        try (WebSocketConnection ws = WebSocketConnection.open(server.wsPort(), server.certFile(),
                "https://evil.example")) {
            WebSocketConnection.Closed closed = ws.awaitClose();
            assertThat(closed.status()).isEqualTo(1008);
            assertThat(closed.reason()).isEqualTo("origin https://evil.example is not allowed (ws-allowed-origins)");
        }
        assertThat(events.lines()).anyMatch(l -> l.startsWith("refuse ") && l.contains("https://evil.example"));
        assertThat(events.lines()).noneMatch(l -> l.startsWith("connect "));
    }

    @Test
    void theConsolesOwnOriginIsAllowedWithoutConfiguration() throws Exception {
        String console = "http://localhost:" + server.server.httpPort();
        try (WebSocketConnection ws = WebSocketConnection.open(server.wsPort(), server.certFile(), console)) {
            ws.send(hello(TestServer.token("console-1", "alice"), "console-1"));
            assertThat(ws.read().hasWelcome()).isTrue();
        }
        // the same host on another port is another origin
        try (WebSocketConnection ws = WebSocketConnection.open(server.wsPort(), server.certFile(),
                "http://localhost:" + (server.server.httpPort() + 1))) {
            assertThat(ws.awaitClose().status()).isEqualTo(1008);
        }
    }

    @Test
    void aMessageOverTheFrameCapGetsFrameTooLarge() throws Exception {
        int cap = new io.mss.server.config.ServerConfig().maxFrameBytes;
        try (WebSocketConnection ws = WebSocketConnection.open(server.wsPort(), server.certFile(), null)) {
            ws.send(hello(TestServer.token("browser-1", "alice"), "browser-1"));
            assertThat(ws.read().hasWelcome()).isTrue();
            catchUp(ws);
            ws.sendRawUnconfirmed(new byte[cap + 1]);
            ServerFrame error = ws.read();
            assertThat(error.getError().getCode()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
            assertThat(ws.awaitClose().status()).isEqualTo(4000 + ErrorCode.FRAME_TOO_LARGE_VALUE);
        }
    }

    @Test
    void garbageInABinaryMessageIsBadFrame() throws Exception {
        try (WebSocketConnection ws = WebSocketConnection.open(server.wsPort(), server.certFile(), null)) {
            ws.sendRaw(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
            assertThat(ws.read().getError().getCode()).isEqualTo(ErrorCode.BAD_FRAME);
        }
    }

    @Test
    void plainWsOnlyWhenAskedAndOnlyOnLoopback(@TempDir Path other) throws Exception {
        try (TestServer insecure = TestServer.start(other, c -> {
            c.wsInsecureLoopback = true;
            c.bindHost = "0.0.0.0";
        })) {
            try (WebSocketConnection ws = WebSocketConnection.open(
                    URI.create("ws://127.0.0.1:" + insecure.wsPort() + "/sync"), null, null)) {
                ws.send(hello(TestServer.token("dev-1", null), "dev-1"));
                assertThat(ws.read().hasWelcome()).isTrue();
            }
            Map<String, ?> body = Map.of("deviceId", "dev-1");
            assertThat(insecure.api.post("/api/v1/tokens", body).body().get("wsSecure").asBoolean()).isFalse();
        }
    }

    @Test
    void tokensAreMintedForAdminKeysOnly() throws Exception {
        Api.Answer minted = server.api.post("/api/v1/tokens", Map.of("deviceId", "console-2", "userId", "alice",
                "ttlSeconds", 60));
        assertThat(minted.status()).isEqualTo(200);
        assertThat(minted.body().get("wsPort").asInt()).isEqualTo(server.wsPort());
        try (WebSocketConnection ws = WebSocketConnection.open(server.wsPort(), server.certFile(), null)) {
            ws.send(hello(minted.body().get("token").asText(), "console-2"));
            assertThat(ws.read().getWelcome().getUserId()).isEqualTo("alice");
        }
        String pushKey = io.mss.server.auth.ApiKeys.create(server.dataDir.toAbsolutePath(),
                io.mss.server.auth.ApiKeys.Role.push, "pusher", System.currentTimeMillis()).key();
        assertThat(server.api.call("POST", "/api/v1/tokens", "{\"deviceId\":\"x\"}", pushKey).status())
                .isEqualTo(403);
        assertThat(server.api.post("/api/v1/tokens", Map.of("deviceId", "")).status()).isEqualTo(400);
    }
}
