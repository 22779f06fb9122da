package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.mss.server.auth.ApiKeys;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * API keys with roles, stored hashed in api-keys.json: push keys push and read delivery
 * status only; admin keys (and the legacy MSS_API_KEY) do everything; records name the key.
 */
class ApiKeyRolesTest {
    @TempDir
    static Path tmp;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"));
        server.api.createBizType("ORDER", "APPOINTED", "USER");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Api as(String key) {
        return new Api(server.api.baseUrl, key);
    }

    private static final String PUSH = "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"p\"}";

    @Test
    void aPushKeyMayPushAndReadDeliveryStatusOnly() {
        String key = ApiKeys.create(server.dataDir, ApiKeys.Role.push, "shop-backend", System.currentTimeMillis()).key();
        Api pusher = as(key);
        Api.Answer pushed = pusher.call("POST", "/api/v1/push", PUSH);
        assertThat(pushed.status()).as(pushed.body().toString()).isEqualTo(200);
        assertThat(pusher.call("POST", "/api/v1/push/batch", "{\"orders\":[" + PUSH + "]}").status()).isEqualTo(200);
        assertThat(pusher.call("GET", "/api/v1/push/ORDER/" + pushed.oplogId() + "?linkToken=u", null).status())
                .isEqualTo(200);
        String[][] adminOnly = {
                {"POST", "/api/v1/biz-types", "{\"id\":\"SNEAKY\"}"},
                {"GET", "/api/v1/biz-types", null},
                {"GET", "/api/v1/biz-types/ORDER", null},
                {"PUT", "/api/v1/biz-types/ORDER", "{\"status\":\"OFFLINE\"}"},
                {"DELETE", "/api/v1/biz-types/ORDER?force=true", null},
                {"GET", "/api/v1/records", null},
                {"PUT", "/api/v1/push", PUSH},
        };
        for (String[] call : adminOnly) {
            Api.Answer answer = pusher.call(call[0], call[1], call[2]);
            assertThat(answer.status()).as(call[0] + " " + call[1] + " " + answer.body()).isEqualTo(403);
            assertThat(answer.resultCode()).isEqualTo("FORBIDDEN");
            assertThat(answer.body().path("message").asText()).contains("admin");
        }
        // nothing of that happened
        assertThat(server.api.call("GET", "/api/v1/biz-types/ORDER", null).body().path("status").asText("ONLINE"))
                .isNotEqualTo("OFFLINE");
        assertThat(server.api.call("GET", "/api/v1/biz-types/SNEAKY", null).status()).isEqualTo(404);
    }

    @Test
    void operationRecordsNameTheKeyAndTheLegacyKeyIsAdminWithIdApiKey() {
        String admin = ApiKeys.create(server.dataDir, ApiKeys.Role.admin, "ops-console", System.currentTimeMillis()).key();
        String push = ApiKeys.create(server.dataDir, ApiKeys.Role.push, "billing", System.currentTimeMillis()).key();
        assertThat(as(admin).call("POST", "/api/v1/biz-types", "{\"id\":\"BILLS\",\"target\":\"USER\"}").status())
                .isEqualTo(201);
        assertThat(as(push).call("POST", "/api/v1/push", "{\"bizType\":\"BILLS\",\"linkToken\":\"u\",\"payload\":\"p\"}")
                .status()).isEqualTo(200);
        assertThat(server.api.call("POST", "/api/v1/push", "{\"bizType\":\"BILLS\",\"linkToken\":\"u\",\"payload\":\"q\"}")
                .status()).isEqualTo(200);
        JsonNode records = as(admin).call("GET", "/api/v1/records?bizType=BILLS", null).body().path("records");
        assertThat(records).hasSize(3);
        assertThat(records.get(0).path("actor").asText()).isEqualTo("api-key"); // newest first
        assertThat(records.get(1).path("actor").asText()).isEqualTo("billing");
        assertThat(records.get(2).path("actor").asText()).isEqualTo("ops-console");
    }

    @Test
    void theFileHoldsOnlyHashesAndARevokedKeyIsRefusedWithinASecond() throws Exception {
        ApiKeys.Created created = ApiKeys.create(server.dataDir, ApiKeys.Role.push, "to-revoke", System.currentTimeMillis());
        String file = Files.readString(server.dataDir.resolve("api-keys.json"), StandardCharsets.UTF_8);
        assertThat(file).doesNotContain(created.key()).contains(ApiKeys.hash(created.key()));
        assertThat(ApiKeys.hash(created.key())).hasSize(64);
        assertThat(as(created.key()).call("POST", "/api/v1/push", PUSH).status()).isEqualTo(200);
        assertThat(ApiKeys.revoke(server.dataDir, "to-revoke")).isTrue();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            Api.Answer answer = as(created.key()).call("POST", "/api/v1/push", PUSH);
            assertThat(answer.status()).isEqualTo(401);
            assertThat(answer.resultCode()).isEqualTo("UNAUTHORIZED");
        });
        // the legacy key is untouched by any of this
        assertThat(server.api.call("GET", "/api/v1/biz-types", null).status()).isEqualTo(200);
    }

    @Test
    void theCliCreatesListsAndRevokesKeysWhileTheServerRuns() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("cli-work"));
        Process create = ServerProcess.cli(work, "key", "create", "--role", "push", "--id", "cli-pusher",
                "--data-dir", server.dataDir.toString());
        String key = new String(create.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(create.waitFor()).isZero();
        assertThat(key).startsWith("mss_").hasSizeGreaterThan(40);
        assertThat(as(key).call("POST", "/api/v1/push", PUSH).status()).isEqualTo(200);
        assertThat(as(key).call("GET", "/api/v1/biz-types", null).status()).isEqualTo(403);

        Process list = ServerProcess.cli(work, "key", "list", "--data-dir", server.dataDir.toString());
        String listed = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(list.waitFor()).isZero();
        assertThat(listed).contains("cli-pusher\tpush").doesNotContain(key);

        Process duplicate = ServerProcess.cli(work, "key", "create", "--role", "admin", "--id", "cli-pusher",
                "--data-dir", server.dataDir.toString());
        assertThat(duplicate.waitFor()).isEqualTo(2);

        Process revoke = ServerProcess.cli(work, "key", "revoke", "cli-pusher", "--data-dir", server.dataDir.toString());
        assertThat(revoke.waitFor()).isZero();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(as(key).call("POST", "/api/v1/push", PUSH).status()).isEqualTo(401));
        Process again = ServerProcess.cli(work, "key", "revoke", "cli-pusher", "--data-dir", server.dataDir.toString());
        assertThat(again.waitFor()).isEqualTo(1);
    }
}
