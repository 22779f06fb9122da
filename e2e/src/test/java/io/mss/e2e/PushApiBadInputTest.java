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

    static Stream<Arguments> badRequests() {
        String big = "x".repeat(4097);
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
        for (String key : new String[]{null, "wrong-key", ""}) {
            Api.Answer answer = server.api.call("POST", "/api/v1/push", body, key);
            assertThat(answer.status()).isEqualTo(401);
            assertThat(answer.resultCode()).isEqualTo("UNAUTHORIZED");
            assertThat(answer.body().path("message").asText()).isNotBlank();
        }
        assertNothingStored();
    }

    /** No push in this class may have stored anything: the next push to "u" gets id 1. */
    private static void assertNothingStored() {
        Api.Answer list = server.api.call("GET", "/api/v1/biz-types", null);
        assertThat(list.body().path("bizTypes").size()).isEqualTo(2);
        assertThat(server.server.engine().lastId(io.mss.server.store.Scope.user("ORDER", "u"))).isZero();
    }
}
