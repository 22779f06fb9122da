package io.mss.e2e;

import io.mss.client.SyncMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The optional push fields as the API takes them, and what the answer says. */
class PushFieldsTest {
    @TempDir
    Path tmp;

    private TestServer server;
    private final DeliveryChecker checker = new DeliveryChecker();
    private final List<Device> devices = new ArrayList<>();

    @BeforeEach
    void startServer() throws Exception {
        server = TestServer.start(tmp.resolve("server"));
    }

    @AfterEach
    void stop() throws Exception {
        for (Device device : devices) {
            device.close();
        }
        server.close();
    }

    @Test
    void aGlobalPushTakesTenThousandUidsAndEveryFilter() {
        server.api.createBizType("NEWS", "GLOBAL", "USER");
        long now = System.currentTimeMillis();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("bizType", "NEWS");
        body.put("payload", "for ten thousand users");
        body.put("uidList", IntStream.range(0, 10_000).mapToObj(i -> "user-with-a-long-id-" + i).collect(Collectors.toList()));
        body.put("osType", List.of("ios", "Android"));
        body.put("appMinVersion", "1.2");
        body.put("appMaxVersion", "1.2.0");
        body.put("validTimeStart", now);
        body.put("validTimeEnd", now + 60_000);

        Api.Answer answer = server.api.post("/api/v1/push/global", body); // about 300 KB: above the plain 64 KiB limit

        assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
        assertThat(answer.resultCode()).isEqualTo("OK");
        assertThat(answer.oplogId()).isEqualTo(1);
        assertThat(answer.body().has("delivered")).isFalse();
    }

    @Test
    void aNonPersistentPushSaysHowManySessionsItReached() {
        Api.Answer created = server.api.post("/api/v1/biz-types",
                Map.of("id", "TYPING", "range", "APPOINTED", "target", "USER", "persistent", false));
        assertThat(created.status()).as(created.toString()).isEqualTo(201);

        Api.Answer nobody = server.api.push("TYPING", "alice", "bob is typing", null);
        assertThat(nobody.status()).as(nobody.toString()).isEqualTo(200);
        assertThat(nobody.body().path("delivered").asInt(-1)).isZero();

        Device phone = Device.connect("phone-1", "alice", server, tmp.resolve("phone-1"), checker, "TYPING");
        devices.add(phone);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().sessionCount() == 1);
        Api.Answer one = server.api.push("TYPING", "alice", "bob is typing again", null);
        assertThat(one.body().path("delivered").asInt(-1)).isEqualTo(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> phone.received.size() == 1);
        assertThat(phone.received).extracting(SyncMessage::payload).containsExactly("bob is typing again");

        Api.Answer batch = server.api.post("/api/v1/push/batch", Map.of("orders", List.of(
                Map.of("bizType", "TYPING", "linkToken", "alice", "payload", "a"),
                Map.of("bizType", "TYPING", "linkToken", "carol", "payload", "b"))));
        assertThat(batch.body().path("results").findValues("delivered")).extracting(n -> n.asInt())
                .containsExactly(1, 0);
    }

    @Test
    void anOfflineBizTypeRefusesPushesUntilItIsOnlineAgain() {
        server.api.createBizType("ORDER", "APPOINTED", "USER");
        assertThat(server.api.call("PUT", "/api/v1/biz-types/ORDER", "{\"status\":\"OFFLINE\"}").status()).isEqualTo(200);

        Api.Answer refused = server.api.push("ORDER", "alice", "p", null);
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.resultCode()).isEqualTo("CONFIG_OFFLINE");
        Api.Answer batch = server.api.post("/api/v1/push/batch",
                Map.of("orders", List.of(Map.of("bizType", "ORDER", "linkToken", "alice", "payload", "p"))));
        assertThat(batch.body().path("results").get(0).path("resultCode").asText()).isEqualTo("CONFIG_OFFLINE");
        assertThat(server.server.engine().lastId(io.mss.server.store.Scope.user("ORDER", "alice"))).isZero();

        assertThat(server.api.call("PUT", "/api/v1/biz-types/ORDER", "{\"status\":\"ONLINE\"}").status()).isEqualTo(200);
        assertThat(server.api.push("ORDER", "alice", "p", null).oplogId()).isEqualTo(1);
    }

    @Test
    void updatesKeepWhatTheyDoNotMention() {
        Api.Answer created = server.api.post("/api/v1/biz-types", Map.of("id", "FEED", "rePushMode", "THRESHOLD",
                "rePushThreshold", 20, "receiptWebhook", "http://127.0.0.1:9/r", "description", "feed"));
        assertThat(created.status()).as(created.toString()).isEqualTo(201);

        Api.Answer renamed = server.api.call("PUT", "/api/v1/biz-types/FEED", "{\"description\":\"the feed\"}");
        assertThat(renamed.body().path("bizType").path("rePushThreshold").asInt()).isEqualTo(20);
        assertThat(renamed.body().path("bizType").path("receiptWebhook").asText()).isEqualTo("http://127.0.0.1:9/r");

        Api.Answer all = server.api.call("PUT", "/api/v1/biz-types/FEED", "{\"rePushMode\":\"ALL\",\"receiptWebhook\":\"\"}");
        assertThat(all.status()).as(all.toString()).isEqualTo(200);
        assertThat(all.body().path("bizType").path("rePushMode").asText()).isEqualTo("ALL");
        assertThat(all.body().path("bizType").path("rePushThreshold").asInt()).isZero();
        assertThat(all.body().path("bizType").path("receiptWebhook").isNull()).isTrue();
        assertThat(server.api.call("GET", "/api/v1/biz-types/FEED", null).body().path("bizType").path("description")
                .asText()).isEqualTo("the feed");
    }
}
