package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.Hello;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code /metrics} moves with real pushes to a real device, and the lookup and stats routes
 * the console reads tell where that device stands.
 */
class MetricsAndLookupTest {
    @TempDir
    Path tmp;

    private Fleet fleet;
    private TestServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        fleet = Fleet.start(tmp, "ORDER:APPOINTED:USER", "NEWS:GLOBAL:USER");
        server = fleet.server;
    }

    @AfterEach
    void stop() throws Exception {
        fleet.close();
    }

    @Test
    void countersMoveWithPushesDeliveriesAndAcksOfARealDevice() throws Exception {
        Device phone = fleet.device("phone-1", "alice", "ORDER", "NEWS");
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().sessionCount() == 1);
        for (int i = 1; i <= 3; i++) {
            assertThat(server.api.post("/api/v1/push", Map.of("bizType", "ORDER", "linkToken", "alice",
                    "payload", "order " + i)).resultCode()).isEqualTo("OK");
        }
        assertThat(server.api.post("/api/v1/push", Map.of("bizType", "NOPE", "linkToken", "alice",
                "payload", "x")).resultCode()).isEqualTo("BIZ_TYPE_NOT_FOUND");
        await().atMost(Duration.ofSeconds(30)).until(() -> phone.received.size() == 3);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().syncPoint("phone-1",
                io.mss.server.store.Scope.user("ORDER", "alice")) == 3);

        String metrics = scrape(null).body();
        assertThat(value(metrics, "mss_connections")).isEqualTo(1);
        assertThat(value(metrics, "mss_handshakes_total{result=\"ok\"}")).isEqualTo(1);
        assertThat(value(metrics, "mss_pushes_total{result_code=\"OK\"}")).isEqualTo(3);
        assertThat(value(metrics, "mss_pushes_total{result_code=\"BIZ_TYPE_NOT_FOUND\"}")).isEqualTo(1);
        assertThat(value(metrics, "mss_deliveries_total")).isEqualTo(3);
        assertThat(value(metrics, "mss_acks_total")).isGreaterThanOrEqualTo(1);
        assertThat(value(metrics, "mss_delivery_latency_seconds_count")).isEqualTo(3);
        assertThat(value(metrics, "mss_catchup_oplogs_count")).isEqualTo(1);
        assertThat(value(metrics, "mss_store_commit_batch_size_sum")).isEqualTo(3);
        assertThat(value(metrics, "mss_store_fsync_seconds_count")).isBetween(1.0, 3.0);
        assertThat(value(metrics, "mss_poison_cutoffs_total")).isZero();
        assertThat(value(metrics, "mss_backlog_oplogs")).isZero();
        assertThat(metrics).contains("jvm_memory_used_bytes", "jvm_gc_", "jvm_threads_live_threads",
                "netty_allocator_memory_used");

        JsonNode stats = server.api.call("GET", "/api/v1/stats", null).body().path("stats");
        assertThat(stats.path("connections").asDouble()).isEqualTo(1);
        assertThat(stats.path("pushesOk").asDouble()).isEqualTo(3);
        assertThat(stats.path("deliveries").asDouble()).isEqualTo(3);
        assertThat(stats.path("deliveryLatencyMs").has("p99")).isTrue();
    }

    @Test
    void theBacklogReturnsToZeroWhenOplogsWereFilteredOutForTheDevice() throws Exception {
        Device phone = fleet.device("phone-1", "alice", "ORDER"); // an android device
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().sessionCount() == 1);
        assertThat(server.api.push("ORDER", "alice", "for every device", null).resultCode()).isEqualTo("OK");
        for (int i = 0; i < 3; i++) {
            assertThat(server.api.post("/api/v1/push", Map.of("bizType", "ORDER", "linkToken", "alice",
                    "payload", "for iPhones " + i, "osType", "ios")).resultCode()).isEqualTo("OK");
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> phone.received.size() == 1);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().syncPoint("phone-1",
                io.mss.server.store.Scope.user("ORDER", "alice")) == 1);
        // the three oplogs for iPhones are owed to nobody here: nothing is waiting for this device
        await().atMost(Duration.ofSeconds(10)).until(() -> value(scrape(null).body(), "mss_backlog_oplogs") == 0);
        assertThat(phone.received).hasSize(1);
    }

    @Test
    void anOplogHeldForItsValidityWindowIsLateOnlyFromWhenItOpened() throws Exception {
        Device phone = fleet.device("phone-1", "alice", "ORDER");
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().sessionCount() == 1);
        long opens = System.currentTimeMillis() + 1500;
        assertThat(server.api.post("/api/v1/push", Map.of("bizType", "ORDER", "linkToken", "alice",
                "payload", "later", "validTimeStart", opens)).resultCode()).isEqualTo("OK");
        await().atMost(Duration.ofSeconds(30)).until(() -> phone.received.size() == 1);
        assertThat(System.currentTimeMillis()).isGreaterThanOrEqualTo(opens);

        String metrics = scrape(null).body();
        assertThat(value(metrics, "mss_delivery_latency_seconds_count")).isEqualTo(1);
        assertThat(value(metrics, "mss_delivery_latency_seconds_sum")).as("not the 1.5 s it waited")
                .isLessThan(1.0);
    }

    @Test
    void aRefusedHandshakeIsCountedUnderItsErrorCode() throws Exception {
        try (RawConnection raw = new RawConnection(server.syncPort(), server.certFile())) {
            raw.send(ClientFrame.newBuilder().setHello(Hello.newBuilder()
                    .setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                    .setToken("not-a-token").setDeviceId("d-1")).build());
            await().atMost(Duration.ofSeconds(10)).until(() -> value(scrape(null).body(),
                    "mss_handshakes_total{result=\"invalid_token\"}") == 1);
        }
    }

    @Test
    void deviceLookupTellsConnectionSyncPointsBacklogAndLastAcks() {
        Device phone = fleet.device("phone-1", "alice", "ORDER");
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().sessionCount() == 1);
        server.api.post("/api/v1/push", Map.of("bizType", "ORDER", "linkToken", "alice", "payload", "one"));
        server.api.post("/api/v1/push", Map.of("bizType", "ORDER", "linkToken", "alice", "payload", "two"));
        await().atMost(Duration.ofSeconds(30)).until(() -> phone.received.size() == 2);

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode device = server.api.call("GET", "/api/v1/devices/phone-1", null).body();
            assertThat(device.path("connected").asBoolean()).isTrue();
            assertThat(device.path("userId").asText()).isEqualTo("alice");
            JsonNode session = device.path("sessions").get(0);
            assertThat(session.path("remoteAddress").asText()).contains("127.0.0.1");
            assertThat(session.path("connectedAt").asLong()).isPositive();
            JsonNode order = device.path("syncPoints").get(0);
            assertThat(order.path("bizType").asText()).isEqualTo("ORDER");
            assertThat(order.path("scope").asText()).isEqualTo("USER");
            assertThat(order.path("syncPoint").asLong()).isEqualTo(2);
            assertThat(order.path("lastOplogId").asLong()).isEqualTo(2);
            assertThat(order.path("backlog").asLong()).isZero();
            assertThat(order.path("subscribed").asBoolean()).isTrue();
            assertThat(device.path("lastAcks").get(0).path("syncPoint").asLong()).isEqualTo(2);
        });

        JsonNode user = server.api.call("GET", "/api/v1/users/alice", null).body();
        assertThat(user.path("connected").asBoolean()).isTrue();
        JsonNode devices = user.path("bizTypes").get(0).path("devices");
        assertThat(devices.get(0).path("deviceId").asText()).isEqualTo("phone-1");
        assertThat(devices.get(0).path("syncPoint").asLong()).isEqualTo(2);

        // offline: the backlog of a device that is away comes from the store
        server.api.post("/api/v1/push", Map.of("bizType", "ORDER", "linkToken", "alice", "payload", "three"));
        JsonNode stranger = server.api.call("GET", "/api/v1/devices/tablet-9?userId=alice", null).body();
        assertThat(stranger.path("connected").asBoolean()).isFalse();
        assertThat(stranger.path("syncPoints").get(0).path("backlog").asLong()).isEqualTo(3);
    }

    @Test
    void lookupsNeedAnAdminKeyAndSayWhatIsWrong() {
        assertThat(server.api.call("GET", "/api/v1/devices/phone-1", null, "wrong-key").status()).isEqualTo(401);
        Api.Answer tooLong = server.api.call("GET", "/api/v1/users/" + "u".repeat(200), null);
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(tooLong.body().path("message").asText()).contains("'userId' must be 1 to 128 characters");
    }

    @Test
    void metricsAnswerWithoutAKeyUnlessTheServerRequiresOne() throws Exception {
        assertThat(scrape(null).statusCode()).isEqualTo(200);
        try (TestServer guarded = TestServer.start(tmp.resolve("guarded"), c -> c.metricsRequireKey = true)) {
            HttpResponse<String> refused = scrape(guarded, null);
            assertThat(refused.statusCode()).isEqualTo(401);
            assertThat(refused.body()).contains("\"resultCode\":\"UNAUTHORIZED\"");
            HttpResponse<String> allowed = scrape(guarded, TestServer.API_KEY);
            assertThat(allowed.statusCode()).isEqualTo(200);
            assertThat(allowed.body()).contains("mss_connections");
        }
    }

    private HttpResponse<String> scrape(String key) throws IOException, InterruptedException {
        return scrape(server, key);
    }

    private HttpResponse<String> scrape(TestServer target, String key) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(target.api.baseUrl + "/metrics"));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The value of one sample line, e.g. {@code mss_pushes_total{result_code="OK"}}; 0 when absent. */
    static double value(String metrics, String sample) {
        Matcher line = Pattern.compile("(?m)^" + Pattern.quote(sample) + " (\\S+)$").matcher(metrics);
        return line.find() ? Double.parseDouble(line.group(1)) : 0;
    }
}
