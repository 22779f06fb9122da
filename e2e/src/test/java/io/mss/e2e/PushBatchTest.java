package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.mss.client.SyncMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code POST /api/v1/push/batch}: many pushes in one call, each with its own result. */
class PushBatchTest {
    @TempDir
    Path tmp;

    private Fleet fleet;
    private TestServer server;
    private DeliveryChecker checker;

    @BeforeEach
    void startServer() throws Exception {
        fleet = Fleet.start(tmp, "ORDER:APPOINTED:USER", "NEWS:GLOBAL:USER");
        server = fleet.server;
        checker = fleet.checker;
    }

    @AfterEach
    void stop() throws Exception {
        fleet.close();
    }

    private static Map<String, Object> order(String bizType, String linkToken, String payload) {
        Map<String, Object> order = new LinkedHashMap<>();
        order.put("bizType", bizType);
        if (linkToken != null) {
            order.put("linkToken", linkToken);
        }
        order.put("payload", payload);
        return order;
    }

    private Api.Answer batch(List<?> orders) {
        return server.api.post("/api/v1/push/batch", Map.of("orders", orders));
    }

    @Test
    void aThousandOrdersInOneCallGetAThousandResultsWithIdsAscendingPerScope() {
        List<Map<String, Object>> orders = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            orders.add(i % 10 == 9 ? order("NEWS", null, "news " + i) : order("ORDER", "user-" + (i % 10), "order " + i));
        }

        long commitsBefore = server.server.engine().commitBatches();
        Api.Answer answer = batch(orders);

        assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
        // all queued before any is awaited: the single writer stores them in a handful of
        // group commits (fsyncs), not one per order (commit listeners run just after the answers)
        await().atMost(Duration.ofSeconds(5)).until(() -> server.server.engine().commitBatches() > commitsBefore);
        assertThat(server.server.engine().commitBatches() - commitsBefore).isBetween(1L, 10L);
        assertThat(answer.body().path("success").asBoolean()).isTrue();
        assertThat(answer.resultCode()).isEqualTo("OK");
        assertThat(answer.body().path("accepted").asInt()).isEqualTo(1_000);
        assertThat(answer.body().path("failed").asInt()).isZero();
        JsonNode results = answer.body().path("results");
        assertThat(results.size()).isEqualTo(1_000);
        Map<String, Long> lastIdPerScope = new HashMap<>();
        for (int i = 0; i < 1_000; i++) {
            JsonNode result = results.get(i);
            assertThat(result.path("index").asInt()).isEqualTo(i);
            assertThat(result.path("success").asBoolean()).as(result.toString()).isTrue();
            assertThat(result.path("resultCode").asText()).isEqualTo("OK");
            String scope = i % 10 == 9 ? "NEWS" : "user-" + (i % 10);
            long id = result.path("oplogId").asLong();
            // in the order of the batch: each scope's ids are 1, 2, 3, ... by index
            assertThat(id).as("order %d in %s", i, scope).isEqualTo(lastIdPerScope.getOrDefault(scope, 0L) + 1);
            lastIdPerScope.put(scope, id);
        }
        assertThat(lastIdPerScope).hasSize(10).allSatisfy((scope, last) -> assertThat(last).isEqualTo(100));
        assertThat(server.server.engine().lastId(io.mss.server.store.Scope.user("ORDER", "user-3"))).isEqualTo(100);
        assertThat(server.server.engine().lastId(io.mss.server.store.Scope.global("NEWS"))).isEqualTo(100);
    }

    @Test
    void badOrdersFailAloneWhileTheOthersAreStoredAndDeliveredInOrder() throws Exception {
        String scope = DeliveryChecker.scope("ORDER", "USER", "alice");
        Device phone = Device.connect("phone-1", "alice", server, tmp.resolve("phone-1"), checker, "ORDER");
        fleet.add(phone);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().sessionCount() == 1);

        Map<String, Object> withThirdMsgId = order("ORDER", "alice", "third");
        withThirdMsgId.put("thirdMsgId", "t-3");
        Map<String, Object> missingPayload = order("ORDER", "alice", null);
        missingPayload.remove("payload");
        Map<String, Object> uidListOnAppointed = order("ORDER", "alice", "never");
        uidListOnAppointed.put("uidList", List.of("alice"));
        Map<String, Object> expired = order("ORDER", "alice", "never");
        expired.put("validTimeEnd", 1_000);
        Map<String, Object> unknownField = order("ORDER", "alice", "never");
        unknownField.put("priority", "high");
        List<Object> orders = new ArrayList<>(List.of(
                order("ORDER", "alice", "first"),            // 0 ok
                missingPayload,                              // 1 MISSING_FIELD
                order("ORDER", "alice", "second"),           // 2 ok
                order("NOPE", "alice", "never"),             // 3 BIZ_TYPE_NOT_FOUND
                withThirdMsgId,                              // 4 ok
                withThirdMsgId,                              // 5 DUPLICATED_BIZ_ID, same id as 4
                uidListOnAppointed,                          // 6 INVALID_FILTER
                expired,                                     // 7 INVALID_VALIDITY
                42,                                          // 8 INVALID_REQUEST: not an object
                order("ORDER", null, "never"),               // 9 RANGE_MISMATCH: no linkToken is a global push
                order("NEWS", "alice", "never"),             // 10 RANGE_MISMATCH
                order("ORDER", "alice", "x".repeat(4097)),   // 11 PAYLOAD_TOO_LARGE
                unknownField,                                // 12 INVALID_REQUEST
                order("ORDER", "alice", "fourth")));         // 13 ok

        Api.Answer answer = batch(orders);

        assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
        assertThat(answer.body().path("success").asBoolean()).isTrue();
        JsonNode results = answer.body().path("results");
        assertThat(results.size()).isEqualTo(orders.size());
        List<String> codes = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            assertThat(results.get(i).path("index").asInt()).isEqualTo(i);
            codes.add(results.get(i).path("resultCode").asText());
        }
        assertThat(codes).containsExactly("OK", "MISSING_FIELD", "OK", "BIZ_TYPE_NOT_FOUND", "OK", "DUPLICATED_BIZ_ID",
                "INVALID_FILTER", "INVALID_VALIDITY", "INVALID_REQUEST", "RANGE_MISMATCH", "RANGE_MISMATCH",
                "PAYLOAD_TOO_LARGE", "INVALID_REQUEST", "OK");
        for (int i : new int[]{1, 3, 6, 7, 8, 9, 10, 11, 12}) {
            assertThat(results.get(i).path("success").asBoolean(true)).isFalse();
            assertThat(results.get(i).path("message").asText()).isNotBlank();
            assertThat(results.get(i).has("oplogId")).isFalse();
        }
        assertThat(results.get(5).path("success").asBoolean()).isTrue();
        assertThat(results.get(5).path("oplogId").asLong()).isEqualTo(results.get(4).path("oplogId").asLong());
        assertThat(List.of(0, 2, 4, 13)).extracting(i -> results.get(i).path("oplogId").asLong())
                .containsExactly(1L, 2L, 3L, 4L);
        assertThat(answer.body().path("accepted").asInt()).isEqualTo(5);
        assertThat(answer.body().path("failed").asInt()).isEqualTo(9);

        String[] payloads = {"first", "second", "third", "fourth"};
        for (int i = 0; i < payloads.length; i++) {
            checker.acknowledged(scope, i + 1, payloads[i]);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> checker.caughtUp("phone-1", scope));
        assertThat(phone.received).extracting(SyncMessage::payload).containsExactly(payloads);
        DeliveryChecker.Report report = checker.check(Map.of("phone-1", List.of(scope)));
        assertThat(report.clean()).as(report.toString()).isTrue();
        assertThat(server.server.engine().lastId(io.mss.server.store.Scope.user("ORDER", "alice"))).isEqualTo(4);
        assertThat(server.server.engine().lastId(io.mss.server.store.Scope.global("NEWS"))).isZero();
    }

    @Test
    void batchOrdersTakeTheSameOptionalFieldsAsSinglePushes() {
        long now = System.currentTimeMillis();
        Map<String, Object> filtered = order("NEWS", null, "ios users 100..200");
        filtered.put("osType", List.of("ios"));
        filtered.put("appMinVersion", "2.0");
        filtered.put("appMaxVersion", "3.1.4");
        filtered.put("uidRange", Map.of("from", 100, "to", 200));
        filtered.put("validTimeStart", now);
        filtered.put("validTimeEnd", now + 3_600_000);
        Map<String, Object> listed = order("NEWS", null, "two users");
        listed.put("uidList", List.of("alice", "bob"));
        listed.put("osType", "android");

        Api.Answer answer = batch(List.of(filtered, listed));

        assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
        assertThat(answer.body().path("results").findValuesAsText("resultCode")).containsExactly("OK", "OK");
        assertThat(answer.body().path("results").findValues("oplogId")).extracting(JsonNode::asLong)
                .containsExactly(1L, 2L);
    }
}
