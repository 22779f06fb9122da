package io.mss.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Every bad request gets a 4xx with a resultCode and a message, and stores nothing. The table
 * below is the list of cases; add a row when a new way to be wrong turns up.
 */
class PushApiBadInputTest {
    @TempDir
    static Path tmp;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"));
        server.api.createBizType("ORDER", "APPOINTED", "USER");
        server.api.createBizType("NEWS", "GLOBAL", "USER");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** A push to ORDER/u with extra fields. */
    private static String push(String extra) {
        return "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"p\"" + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    /** A global push to NEWS with extra fields. */
    private static String global(String extra) {
        return "{\"bizType\":\"NEWS\",\"payload\":\"p\"," + extra + "}";
    }

    private static String uids(int count) {
        return java.util.stream.IntStream.range(0, count).mapToObj(i -> "\"user-" + i + "\"")
                .collect(java.util.stream.Collectors.joining(",", "[", "]"));
    }

    static Stream<Arguments> badRequests() {
        String big = "x".repeat(4097);
        long soon = System.currentTimeMillis() + 3_600_000;
        return Stream.of(
                // method, path, body, status, resultCode
                arguments("POST", "/api/v1/push", "{", 400, "INVALID_JSON"),
                arguments("POST", "/api/v1/push", "", 400, "INVALID_JSON"),
                arguments("POST", "/api/v1/push", "[1,2]", 400, "INVALID_JSON"),
                arguments("POST", "/api/v1/push", "{\"linkToken\":\"u\",\"payload\":\"p\"}", 400, "MISSING_FIELD"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"payload\":\"p\"}", 400, "MISSING_FIELD"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"u\"}", 400, "MISSING_FIELD"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":42}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push", "{\"bizType\":7,\"linkToken\":\"u\",\"payload\":\"p\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"p\",\"colour\":1}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"" + big + "\"}", 400, "PAYLOAD_TOO_LARGE"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"p\",\"thirdMsgId\":\"" + "t".repeat(100) + "\"}", 400, "INVALID_THIRD_MSG_ID"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"p\",\"thirdMsgId\":\"\"}", 400, "INVALID_THIRD_MSG_ID"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"NOPE\",\"linkToken\":\"u\",\"payload\":\"p\"}", 404, "BIZ_TYPE_NOT_FOUND"),
                // U+0000 never reaches the store (PostgreSQL's text refuses it)
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"a\\u0000b\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"u\\u0000\",\"payload\":\"p\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"p\",\"thirdMsgId\":\"t\\u0000\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\\u0000\",\"linkToken\":\"u\",\"payload\":\"p\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push", push("\"osType\":\"i\\u0000os\""), 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push/global", global("\"uidList\":[\"u\\u0000\"]"), 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"NEWS\",\"linkToken\":\"u\",\"payload\":\"p\"}", 400, "RANGE_MISMATCH"),
                arguments("POST", "/api/v1/push/global", "{\"bizType\":\"ORDER\",\"payload\":\"p\"}", 400, "RANGE_MISMATCH"),
                arguments("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"" + "y".repeat(70_000) + "\"}", 413, "REQUEST_TOO_LARGE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"lower-case\"}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"range\":\"SOMETIMES\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"target\":\"DEVICE\",\"multiDevice\":true}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"retentionDays\":0}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"retentionDays\":\"ten\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/biz-types", "{\"description\":\"no id\"}", 400, "MISSING_FIELD"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"ORDER\"}", 409, "BIZ_TYPE_EXISTS"),
                arguments("PUT", "/api/v1/biz-types/ORDER", "{\"target\":\"DEVICE\",\"multiDevice\":false}", 409, "IMMUTABLE_FIELD"),
                arguments("PUT", "/api/v1/biz-types/NOPE", "{}", 404, "BIZ_TYPE_NOT_FOUND"),
                arguments("GET", "/api/v1/biz-types/NOPE", null, 404, "BIZ_TYPE_NOT_FOUND"),
                arguments("DELETE", "/api/v1/biz-types/NOPE", null, 404, "BIZ_TYPE_NOT_FOUND"),
                // validity window: epoch ms, end after start and not in the past, start within the retention
                arguments("POST", "/api/v1/push", push("\"validTimeEnd\":1000"), 400, "INVALID_VALIDITY"),
                arguments("POST", "/api/v1/push", push("\"validTimeStart\":" + (soon + 1000) + ",\"validTimeEnd\":" + soon), 400, "INVALID_VALIDITY"),
                arguments("POST", "/api/v1/push", push("\"validTimeStart\":" + soon + ",\"validTimeEnd\":" + soon), 400, "INVALID_VALIDITY"),
                arguments("POST", "/api/v1/push", push("\"validTimeStart\":\"tomorrow\""), 400, "INVALID_VALIDITY"),
                arguments("POST", "/api/v1/push", push("\"validTimeStart\":-5"), 400, "INVALID_VALIDITY"),
                arguments("POST", "/api/v1/push", push("\"validTimeEnd\":1.5e12"), 400, "INVALID_VALIDITY"),
                arguments("POST", "/api/v1/push", push("\"validTimeStart\":" + (soon + 40L * 24 * 3600 * 1000)), 400, "INVALID_VALIDITY"),
                arguments("POST", "/api/v1/push/global", "{\"bizType\":\"NEWS\",\"payload\":\"p\",\"validTimeEnd\":1000}", 400, "INVALID_VALIDITY"),
                // delivery filters
                arguments("POST", "/api/v1/push", push("\"appMinVersion\":\"1.x\""), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push", push("\"appMaxVersion\":\"\""), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push", push("\"appMaxVersion\":3"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push", push("\"appMinVersion\":\"2.0\",\"appMaxVersion\":\"1.9.9\""), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push", push("\"osType\":42"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push", push("\"osType\":[]"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push", push("\"osType\":[\"ios\",\"\"]"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push", push("\"uidList\":[\"u\"]"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push", push("\"uidRange\":{\"from\":1,\"to\":9}"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push/global", global("\"uidList\":\"u1,u2\""), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push/global", global("\"uidList\":[]"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push/global", global("\"uidList\":[\"u1\",7]"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push/global", global("\"uidList\":" + uids(10_001)), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push/global", global("\"uidRange\":{\"from\":9,\"to\":1}"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push/global", global("\"uidRange\":{}"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push/global", global("\"uidRange\":{\"from\":1,\"upTo\":9}"), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push/global", global("\"uidRange\":\"1-9\""), 400, "INVALID_FILTER"),
                arguments("POST", "/api/v1/push/global", global("\"linkToken\":\"u\""), 400, "INVALID_REQUEST"),
                // batches: the request as a whole
                arguments("POST", "/api/v1/push/batch", "{\"orders\":[" + String.join(",", java.util.Collections.nCopies(1001, push(""))) + "]}", 400, "BATCH_TOO_LARGE"),
                arguments("POST", "/api/v1/push/batch", "{\"orders\":" + push("") + "}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push/batch", "{\"orders\":\"all of them\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push/batch", "{\"orders\":[]}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/push/batch", "{}", 400, "MISSING_FIELD"),
                arguments("POST", "/api/v1/push/batch", "[" + push("") + "]", 400, "INVALID_JSON"),
                arguments("POST", "/api/v1/push/batch", "{\"orders\":[" + push("") + "],\"atomic\":true}", 400, "INVALID_REQUEST"),
                // bizType configurations
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"rePushMode\":\"THRESHOLD\"}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"rePushMode\":\"THRESHOLD\",\"rePushThreshold\":0}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"rePushMode\":\"THRESHOLD\",\"rePushThreshold\":100001}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"rePushThreshold\":10}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"rePushMode\":\"THRESHOLD\",\"rePushThreshold\":\"ten\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"rePushMode\":\"SOME\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"persistent\":false,\"rePushMode\":\"THRESHOLD\",\"rePushThreshold\":5}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"status\":\"PAUSED\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"status\":\"online\"}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"receiptWebhook\":\"ftp://example.com/r\"}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"receiptWebhook\":\"example.com/r\"}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"receiptWebhook\":\"http://:8080/r\"}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"receiptWebhook\":\"http://example.com/" + "r".repeat(2100) + "\"}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"upstreamWebhook\":\"not a url\"}", 400, "INVALID_BIZ_TYPE"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"upstreamWebhook\":42}", 400, "INVALID_REQUEST"),
                arguments("POST", "/api/v1/biz-types", "{\"id\":\"X\",\"range\":\"GLOBAL\",\"multiDevice\":true}", 400, "INVALID_BIZ_TYPE"),
                arguments("PUT", "/api/v1/biz-types/ORDER", "{\"rePushMode\":\"THRESHOLD\"}", 400, "INVALID_BIZ_TYPE"),
                arguments("PUT", "/api/v1/biz-types/ORDER", "{\"status\":\"SLEEPING\"}", 400, "INVALID_REQUEST"),
                arguments("PUT", "/api/v1/biz-types/ORDER", "{\"receiptWebhook\":\"mailto:ops@example.com\"}", 400, "INVALID_BIZ_TYPE"),
                arguments("DELETE", "/api/v1/biz-types/ORDER?force=maybe", null, 400, "INVALID_REQUEST"),
                // delivery status
                arguments("GET", "/api/v1/push/ORDER/1?linkToken=u", null, 404, "OPLOG_NOT_FOUND"),
                arguments("GET", "/api/v1/push/NEWS/1", null, 404, "OPLOG_NOT_FOUND"),
                arguments("GET", "/api/v1/push/ORDER/1", null, 400, "MISSING_FIELD"),
                arguments("GET", "/api/v1/push/ORDER/first?linkToken=u", null, 400, "INVALID_REQUEST"),
                arguments("GET", "/api/v1/push/ORDER/0?linkToken=u", null, 400, "INVALID_REQUEST"),
                arguments("GET", "/api/v1/push/NEWS/1?linkToken=u", null, 400, "RANGE_MISMATCH"),
                arguments("GET", "/api/v1/push/NOPE/1?linkToken=u", null, 404, "BIZ_TYPE_NOT_FOUND"),
                // operation records
                arguments("GET", "/api/v1/records?limit=1001", null, 400, "INVALID_REQUEST"),
                arguments("GET", "/api/v1/records?limit=0", null, 400, "INVALID_REQUEST"),
                arguments("GET", "/api/v1/records?type=PUSHED", null, 400, "INVALID_REQUEST"),
                arguments("GET", "/api/v1/records?from=10&to=5", null, 400, "INVALID_REQUEST"),
                arguments("GET", "/api/v1/records?from=yesterday", null, 400, "INVALID_REQUEST"),
                arguments("GET", "/api/v1/nothing-here", null, 404, "NOT_FOUND"));
    }

    @ParameterizedTest(name = "{0} {1} {2} -> {3} {4}")
    @MethodSource("badRequests")
    void badRequestGetsA4xxWithResultCodeAndStoresNothing(String method, String path, String body, int status,
                                                          String resultCode) {
        Api.Answer answer = server.api.call(method, path, body);
        assertThat(answer.status()).as(answer.body().toString()).isEqualTo(status);
        assertThat(answer.body().path("success").asBoolean(true)).isFalse();
        assertThat(answer.resultCode()).isEqualTo(resultCode);
        assertThat(answer.body().path("message").asText()).isNotBlank();
        assertNothingStored();
    }

    @Test
    void missingOrWrongApiKeyIs401() {
        String body = "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"p\"}";
        // also: the key with a suffix, in upper case, and the SHA-256 stored in api-keys.json (a stolen file is no key)
        for (String key : new String[]{null, "wrong-key", "", " ", TestServer.API_KEY + "x",
                TestServer.API_KEY.toUpperCase(java.util.Locale.ROOT),
                io.mss.server.auth.ApiKeys.hash(TestServer.API_KEY)}) {
            Api.Answer answer = server.api.call("POST", "/api/v1/push", body, key);
            assertThat(answer.status()).as("key [" + key + "] " + answer.body()).isEqualTo(401);
            assertThat(answer.resultCode()).isEqualTo("UNAUTHORIZED");
            assertThat(answer.body().path("message").asText()).isNotBlank();
        }
        assertNothingStored();
    }

    /** Signatures are optional on this server, but a signature that is present is checked. */
    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("badSignatures")
    void aBadSignatureIs401AndStoresNothing(String what, String resultCode, java.util.Map<String, String> headers)
            throws Exception {
        SignedApi.Reply reply = SignedApi.call(server.api.baseUrl, TestServer.API_KEY, "POST", "/api/v1/push",
                push(""), headers);
        assertThat(reply.status()).as(reply.answer().body().toString()).isEqualTo(401);
        assertThat(reply.resultCode()).isEqualTo(resultCode);
        assertThat(reply.answer().body().path("message").asText()).isNotBlank();
        assertNothingStored();
    }

    static Stream<Arguments> badSignatures() {
        long now = System.currentTimeMillis();
        String key = TestServer.API_KEY;
        return Stream.of(
                arguments("signed for another body", "BAD_SIGNATURE",
                        SignedApi.signed(key, now, "POST", "/api/v1/push", push("\"thirdMsgId\":\"t\""))),
                arguments("signed for another method", "BAD_SIGNATURE", SignedApi.signed(key, now, "PUT", "/api/v1/push", push(""))),
                arguments("signed with another key", "BAD_SIGNATURE", SignedApi.signed("k", now, "POST", "/api/v1/push", push(""))),
                arguments("signature without timestamp", "BAD_SIGNATURE", java.util.Map.of("X-MSS-Signature", "ab")),
                arguments("timestamp without signature", "BAD_SIGNATURE", java.util.Map.of("X-MSS-Timestamp", Long.toString(now))),
                arguments("signature not hex", "BAD_SIGNATURE", java.util.Map.of("X-MSS-Timestamp", Long.toString(now), "X-MSS-Signature", "zz")),
                arguments("timestamp 6 minutes old", "SIGNATURE_EXPIRED", SignedApi.signed(key, now - 360_000, "POST", "/api/v1/push", push(""))),
                arguments("timestamp 6 minutes ahead", "SIGNATURE_EXPIRED", SignedApi.signed(key, now + 360_000, "POST", "/api/v1/push", push(""))),
                arguments("timestamp in seconds", "SIGNATURE_EXPIRED", SignedApi.signed(key, now / 1000, "POST", "/api/v1/push", push(""))),
                arguments("timestamp not a number", "SIGNATURE_EXPIRED", java.util.Map.of("X-MSS-Timestamp", "now", "X-MSS-Signature", "ab")));
    }

    /** No push in this class may have stored anything: the next push to "u" gets id 1. */
    private static void assertNothingStored() {
        Api.Answer list = server.api.call("GET", "/api/v1/biz-types", null);
        assertThat(list.body().path("bizTypes").size()).isEqualTo(2);
        assertThat(server.server.engine().lastId(io.mss.server.store.Scope.user("ORDER", "u"))).isZero();
        assertThat(server.server.engine().lastId(io.mss.server.store.Scope.global("NEWS"))).isZero();
    }
}
