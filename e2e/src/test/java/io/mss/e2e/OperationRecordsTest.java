package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code GET /api/v1/records}: what was done through the API, newest first. */
class OperationRecordsTest {
    @TempDir
    Path tmp;

    private TestServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private List<JsonNode> records(String query) {
        Api.Answer answer = server.api.call("GET", "/api/v1/records" + query, null);
        assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
        assertThat(answer.body().path("success").asBoolean()).isTrue();
        assertThat(answer.resultCode()).isEqualTo("OK");
        List<JsonNode> list = new ArrayList<>();
        answer.body().path("records").forEach(list::add);
        return list;
    }

    private static List<String> types(List<JsonNode> records) {
        return records.stream().map(r -> r.path("type").asText()).toList();
    }

    private static void ok(Api.Answer answer) {
        assertThat(answer.status()).as(answer.toString()).isBetween(200, 201);
    }

    /** Creates, updates, pushes and deletes; returns nothing, the records tell. */
    private void doEverything() {
        server.api.createBizType("ORDER", "APPOINTED", "USER");
        ok(server.api.call("PUT", "/api/v1/biz-types/ORDER", "{\"description\":\"order status\",\"retentionDays\":7}"));
        ok(server.api.push("ORDER", "alice", "order 1 paid", "o1-paid"));
        ok(server.api.push("ORDER", "alice", "order 1 paid", "o1-paid")); // a duplicate: succeeded too
        server.api.createBizType("NEWS", "GLOBAL", "USER");
        ok(server.api.post("/api/v1/push/global", Map.of("bizType", "NEWS", "payload", "hello", "osType", "ios")));
        ok(server.api.post("/api/v1/push/batch", Map.of("orders", List.of(
                Map.of("bizType", "ORDER", "linkToken", "bob", "payload", "b1"),
                Map.of("bizType", "ORDER", "linkToken", "bob"), // no payload: fails, not recorded
                Map.of("bizType", "NEWS", "payload", "n2")))));
        // refused requests leave no record
        assertThat(server.api.push("ORDER", "alice", "x".repeat(5000), null).status()).isEqualTo(400);
        assertThat(server.api.call("DELETE", "/api/v1/biz-types/ORDER", null).status()).isEqualTo(409);
        assertThat(server.api.post("/api/v1/biz-types", Map.of("id", "ORDER")).status()).isEqualTo(409);
        ok(server.api.call("DELETE", "/api/v1/biz-types/ORDER?force=true", null));
    }

    @Test
    void everyChangeThatSucceededIsRecordedNewestFirst() {
        server = startServer();
        doEverything();

        List<JsonNode> all = records("");
        assertThat(types(all)).containsExactly("BIZ_TYPE_DELETED", "PUSH_GLOBAL", "PUSH", "PUSH_GLOBAL",
                "BIZ_TYPE_CREATED", "PUSH", "PUSH", "BIZ_TYPE_UPDATED", "BIZ_TYPE_CREATED");
        for (int i = 1; i < all.size(); i++) {
            assertThat(all.get(i).path("id").asLong()).isLessThan(all.get(i - 1).path("id").asLong());
            assertThat(all.get(i).path("at").asLong()).isLessThanOrEqualTo(all.get(i - 1).path("at").asLong());
        }
        assertThat(all).allSatisfy(r -> assertThat(r.path("actor").asText()).isEqualTo("api-key"));

        JsonNode deleted = all.get(0);
        assertThat(deleted.path("bizType").asText()).isEqualTo("ORDER");
        assertThat(deleted.path("detail").path("force").asBoolean()).isTrue();
        assertThat(deleted.path("detail").path("hadData").asBoolean()).isTrue();
        assertThat(deleted.path("detail").path("old").path("retentionDays").asInt()).isEqualTo(7);

        JsonNode batchGlobal = all.get(1);
        assertThat(batchGlobal.path("bizType").asText()).isEqualTo("NEWS");
        assertThat(batchGlobal.path("detail").path("batchIndex").asInt()).isEqualTo(2);
        assertThat(batchGlobal.path("detail").path("oplogId").asLong()).isEqualTo(2);
        assertThat(batchGlobal.path("detail").has("linkToken")).isFalse();

        JsonNode filteredGlobal = all.get(3);
        assertThat(filteredGlobal.path("detail").path("filter").path("osType").get(0).asText()).isEqualTo("ios");

        JsonNode duplicate = all.get(5);
        assertThat(duplicate.path("detail").path("resultCode").asText()).isEqualTo("DUPLICATED_BIZ_ID");
        JsonNode first = all.get(6);
        assertThat(first.path("bizType").asText()).isEqualTo("ORDER");
        assertThat(first.path("detail").path("linkToken").asText()).isEqualTo("alice");
        assertThat(first.path("detail").path("thirdMsgId").asText()).isEqualTo("o1-paid");
        assertThat(first.path("detail").path("oplogId").asLong()).isEqualTo(1);
        assertThat(first.path("detail").path("resultCode").asText()).isEqualTo("OK");
        assertThat(first.path("detail").has("payload")).isFalse();

        JsonNode updated = all.get(7);
        assertThat(updated.path("detail").path("old").path("retentionDays").asInt()).isEqualTo(30);
        assertThat(updated.path("detail").path("new").path("retentionDays").asInt()).isEqualTo(7);
        assertThat(updated.path("detail").path("new").path("description").asText()).isEqualTo("order status");
        JsonNode created = all.get(8);
        assertThat(created.path("detail").path("bizType").path("range").asText()).isEqualTo("APPOINTED");
    }

    @Test
    void filtersByTypeBizTypeTimeAndLimit() {
        server = startServer();
        doEverything();
        List<JsonNode> all = records("");

        assertThat(types(records("?type=PUSH"))).containsExactly("PUSH", "PUSH", "PUSH");
        assertThat(records("?type=PUSH")).extracting(r -> r.path("detail").path("linkToken").asText())
                .containsExactly("bob", "alice", "alice");
        assertThat(types(records("?bizType=NEWS"))).containsExactly("PUSH_GLOBAL", "PUSH_GLOBAL", "BIZ_TYPE_CREATED");
        assertThat(types(records("?bizType=ORDER&type=BIZ_TYPE_CREATED"))).containsExactly("BIZ_TYPE_CREATED");
        assertThat(records("?bizType=ORDER&type=BIZ_TYPE_CREATED").get(0).path("id").asLong())
                .isEqualTo(all.get(all.size() - 1).path("id").asLong());
        assertThat(records("?bizType=NOPE")).isEmpty();
        assertThat(records("?type=PUSH_GLOBAL&bizType=ORDER")).isEmpty();

        assertThat(records("?limit=2")).extracting(r -> r.path("id").asLong())
                .containsExactly(all.get(0).path("id").asLong(), all.get(1).path("id").asLong());
        assertThat(records("?type=PUSH&limit=1")).hasSize(1);

        long from = all.get(6).path("at").asLong();
        long to = all.get(2).path("at").asLong();
        List<JsonNode> range = records("?from=" + from + "&to=" + to);
        List<Long> expected = all.stream().filter(r -> r.path("at").asLong() >= from && r.path("at").asLong() <= to)
                .map(r -> r.path("id").asLong()).toList();
        assertThat(range).extracting(r -> r.path("id").asLong()).containsExactlyElementsOf(expected);
        assertThat(expected).hasSizeGreaterThanOrEqualTo(5);
        assertThat(records("?to=" + (all.get(all.size() - 1).path("at").asLong() - 1))).isEmpty();
        assertThat(records("?from=" + (all.get(0).path("at").asLong() + 1))).isEmpty();
        assertThat(records("?type=PUSH&bizType=ORDER&from=" + from + "&to=" + to + "&limit=1000"))
                .allSatisfy(r -> assertThat(r.path("type").asText()).isEqualTo("PUSH"));
    }

    @Test
    void recordsSurviveARestart() throws Exception {
        server = startServer();
        doEverything();
        List<Long> before = records("").stream().map(r -> r.path("id").asLong()).toList();
        server.close();
        server = startServer();

        assertThat(records("").stream().map(r -> r.path("id").asLong()).toList()).isEqualTo(before);
        server.api.createBizType("AFTER", "APPOINTED", "USER");
        List<JsonNode> now = records("?limit=1");
        assertThat(now.get(0).path("bizType").asText()).isEqualTo("AFTER");
        assertThat(now.get(0).path("id").asLong()).isGreaterThan(before.get(0)); // ids never repeat
    }

    private TestServer startServer() {
        try {
            return TestServer.start(tmp.resolve("server"));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
