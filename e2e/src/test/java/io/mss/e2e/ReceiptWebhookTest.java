package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A bizType's receiptWebhook is POSTed to when a device acknowledges its oplogs. */
class ReceiptWebhookTest {
    @TempDir
    Path tmp;

    private TestServer server;
    private HttpServer endpoint;
    private final List<JsonNode> receipts = new CopyOnWriteArrayList<>();
    private final List<String> contentTypes = new CopyOnWriteArrayList<>();
    /** How many requests to refuse with 503 before accepting. */
    private final AtomicInteger failFirst = new AtomicInteger();
    private final AtomicInteger requests = new AtomicInteger();
    private final DeliveryChecker checker = new DeliveryChecker();
    private final List<Device> devices = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        endpoint = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        endpoint.createContext("/receipts", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            requests.incrementAndGet();
            int status = 204;
            if (failFirst.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                status = 503;
            } else {
                receipts.add(Api.JSON.readTree(body));
                contentTypes.add(exchange.getRequestHeaders().getFirst("Content-Type"));
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        endpoint.start();
        server = TestServer.start(tmp.resolve("server"));
    }

    @AfterEach
    void stop() throws IOException {
        for (Device device : devices) {
            device.close();
        }
        server.close();
        endpoint.stop(0);
    }

    private String url() {
        return "http://127.0.0.1:" + endpoint.getAddress().getPort() + "/receipts";
    }

    private void createBizType(String id, String range, String receiptWebhook) {
        Map<String, Object> body = new HashMap<>(Map.of("id", id, "range", range, "target", "USER"));
        if (receiptWebhook != null) {
            body.put("receiptWebhook", receiptWebhook);
        }
        Api.Answer created = server.api.post("/api/v1/biz-types", body);
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        assertThat(created.body().path("bizType").path("receiptWebhook").isNull()).isEqualTo(receiptWebhook == null);
    }

    private Device device(String deviceId, String userId, String... bizTypes) {
        Device device = Device.connect(deviceId, userId, server, tmp.resolve("state-" + deviceId), checker, bizTypes);
        devices.add(device);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().sessionCount() == devices.size());
        return device;
    }

    @Test
    void anAckIsPostedToTheReceiptWebhookAsJson() {
        createBizType("ORDER", "APPOINTED", url());
        Device phone = device("phone-1", "alice", "ORDER");
        long before = System.currentTimeMillis();

        assertThat(server.api.push("ORDER", "alice", "order 1 paid", null).oplogId()).isEqualTo(1);

        await().atMost(Duration.ofSeconds(30)).until(() -> receipts.size() == 1);
        JsonNode receipt = receipts.get(0);
        assertThat(receipt.path("bizType").asText()).isEqualTo("ORDER");
        assertThat(receipt.path("scope").asText()).isEqualTo("USER");
        assertThat(receipt.path("owner").asText()).isEqualTo("alice");
        assertThat(receipt.path("deviceId").asText()).isEqualTo("phone-1");
        assertThat(receipt.path("userId").asText()).isEqualTo("alice");
        assertThat(receipt.path("syncPoint").asLong()).isEqualTo(1);
        assertThat(receipt.path("ackedAt").asLong()).isBetween(before, System.currentTimeMillis());
        assertThat(contentTypes.get(0)).startsWith("application/json");
        assertThat(phone.received).hasSize(1);
    }

    @Test
    void globalAcksCarryTheDeviceAndAnEmptyOwner() {
        createBizType("NEWS", "GLOBAL", url());
        device("kiosk-1", null, "NEWS");

        assertThat(server.api.pushGlobal("NEWS", "hello").oplogId()).isEqualTo(1);

        await().atMost(Duration.ofSeconds(30)).until(() -> receipts.size() == 1);
        JsonNode receipt = receipts.get(0);
        assertThat(receipt.path("scope").asText()).isEqualTo("GLOBAL");
        assertThat(receipt.path("owner").asText()).isEmpty();
        assertThat(receipt.path("deviceId").asText()).isEqualTo("kiosk-1");
        assertThat(receipt.path("userId").isNull()).isTrue();
        assertThat(receipt.path("syncPoint").asLong()).isEqualTo(1);
    }

    @Test
    void aFailingEndpointGetsTheReceiptOnARetry() {
        failFirst.set(2);
        createBizType("ORDER", "APPOINTED", url());
        device("phone-1", "alice", "ORDER");

        server.api.push("ORDER", "alice", "order 1 paid", null);

        await().atMost(Duration.ofSeconds(30)).until(() -> receipts.size() == 1);
        assertThat(requests.get()).isEqualTo(3);
        assertThat(receipts.get(0).path("syncPoint").asLong()).isEqualTo(1);
    }

    @Test
    void noReceiptsWithoutAWebhookOrAfterItIsRemoved() {
        createBizType("QUIET", "APPOINTED", null);
        createBizType("ORDER", "APPOINTED", url());
        Device phone = device("phone-1", "alice", "QUIET", "ORDER");

        server.api.push("QUIET", "alice", "no receipt for this", null);
        server.api.push("ORDER", "alice", "a receipt for this", null);
        await().atMost(Duration.ofSeconds(30)).until(() -> receipts.size() == 1);
        assertThat(receipts.get(0).path("bizType").asText()).isEqualTo("ORDER");

        Api.Answer updated = server.api.call("PUT", "/api/v1/biz-types/ORDER", "{\"receiptWebhook\":null}");
        assertThat(updated.status()).as(updated.toString()).isEqualTo(200);
        assertThat(updated.body().path("bizType").path("receiptWebhook").isNull()).isTrue();
        server.api.push("ORDER", "alice", "no receipt any more", null);
        await().atMost(Duration.ofSeconds(30)).until(() -> phone.received.size() == 3);
        await().during(Duration.ofMillis(700)).atMost(Duration.ofSeconds(5)).until(() -> requests.get() == 1);
    }
}
