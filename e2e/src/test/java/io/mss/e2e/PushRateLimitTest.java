package io.mss.e2e;

import io.mss.server.auth.ApiKeys;
import io.mss.server.store.Scope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** push-rate-limit-per-second: a token bucket per key; beyond it 429 RATE_LIMITED with Retry-After, nothing stored. */
class PushRateLimitTest {
    @TempDir
    static Path tmp;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"), c -> c.pushRateLimitPerSecond = 5);
        server.api.createBizType("ORDER", "APPOINTED", "USER");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String push(String user) {
        return "{\"bizType\":\"ORDER\",\"linkToken\":\"" + user + "\",\"payload\":\"p\"}";
    }

    @Test
    void aKeyBeyondItsRateIsRefusedWithRetryAfterAndOtherKeysAreNotAffected() throws Exception {
        int ok = 0;
        SignedApi.Reply limited = null;
        for (int i = 0; i < 20; i++) {
            SignedApi.Reply reply = SignedApi.call(server.api.baseUrl, TestServer.API_KEY, "POST", "/api/v1/push",
                    push("a"), Map.of());
            if (reply.status() == 200) {
                ok++;
            } else {
                limited = reply;
                assertThat(reply.status()).isEqualTo(429);
            }
        }
        // a burst of one second's worth, plus what refilled while the loop ran
        assertThat(ok).isBetween(5, 15);
        assertThat(limited).isNotNull();
        assertThat(limited.resultCode()).isEqualTo("RATE_LIMITED");
        assertThat(limited.answer().body().path("message").asText()).contains("push-rate-limit-per-second");
        assertThat(limited.raw().headers().firstValue("Retry-After")).hasValueSatisfying(v ->
                assertThat(Integer.parseInt(v)).isPositive());
        // refused pushes stored nothing
        assertThat(server.server.engine().lastId(Scope.user("ORDER", "a"))).isEqualTo(ok);

        // another key has its own bucket
        String other = ApiKeys.create(server.dataDir, ApiKeys.Role.push, "other", System.currentTimeMillis()).key();
        assertThat(SignedApi.call(server.api.baseUrl, other, "POST", "/api/v1/push", push("b"), Map.of()).status())
                .isEqualTo(200);
        // admin routes are not rate limited
        assertThat(server.api.call("GET", "/api/v1/biz-types", null).status()).isEqualTo(200);
        // after a second the bucket has refilled
        Thread.sleep(1_100);
        assertThat(SignedApi.call(server.api.baseUrl, TestServer.API_KEY, "POST", "/api/v1/push", push("a"), Map.of())
                .status()).isEqualTo(200);
    }
}
