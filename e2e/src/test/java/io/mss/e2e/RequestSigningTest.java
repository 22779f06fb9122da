package io.mss.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** require-signed-requests: HMAC-SHA256 signatures, a ±300 s window, each signature used once. */
class RequestSigningTest {
    @TempDir
    static Path tmp;
    static TestServer server;
    static final String KEY = TestServer.API_KEY;
    static final String PATH = "/api/v1/push";

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"), c -> c.requireSignedRequests = true);
        // the setup itself must be signed now
        String body = "{\"id\":\"ORDER\",\"target\":\"USER\"}";
        SignedApi.Reply created = SignedApi.call(base(), KEY, "POST", "/api/v1/biz-types", body,
                SignedApi.signed(KEY, System.currentTimeMillis(), "POST", "/api/v1/biz-types", body));
        assertThat(created.status()).as(created.answer().body().toString()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String base() {
        return server.api.baseUrl;
    }

    private static String push(String payload) {
        return "{\"bizType\":\"ORDER\",\"linkToken\":\"u\",\"payload\":\"" + payload + "\"}";
    }

    private static void assertRefused(SignedApi.Reply reply, String resultCode) {
        assertThat(reply.status()).as(reply.answer().body().toString()).isEqualTo(401);
        assertThat(reply.resultCode()).isEqualTo(resultCode);
        assertThat(reply.answer().body().path("message").asText()).isNotBlank();
    }

    @Test
    void unsignedRequestsAreRefusedWhenSigningIsRequired() throws Exception {
        long before = server.server.engine().lastId(io.mss.server.store.Scope.user("ORDER", "u"));
        assertRefused(SignedApi.call(base(), KEY, "POST", PATH, push("unsigned"), Map.of()), "SIGNATURE_REQUIRED");
        assertThat(server.server.engine().lastId(io.mss.server.store.Scope.user("ORDER", "u"))).isEqualTo(before);
    }

    @Test
    void aSignedRequestWorksOnceAndItsReplayIsRefused() throws Exception {
        String body = push("signed");
        Map<String, String> headers = SignedApi.signed(KEY, System.currentTimeMillis(), "POST", PATH, body);
        SignedApi.Reply first = SignedApi.call(base(), KEY, "POST", PATH, body, headers);
        assertThat(first.status()).as(first.answer().body().toString()).isEqualTo(200);
        assertRefused(SignedApi.call(base(), KEY, "POST", PATH, body, headers), "REPLAYED");
        // a GET with a query string signs path and query
        String status = "/api/v1/push/ORDER/" + first.answer().oplogId() + "?linkToken=u";
        assertThat(SignedApi.call(base(), KEY, "GET", status, null,
                SignedApi.signed(KEY, System.currentTimeMillis(), "GET", status, null)).status()).isEqualTo(200);
    }

    @Test
    void oldOrFutureTimestampsAreExpired() throws Exception {
        String body = push("late");
        long now = System.currentTimeMillis();
        assertRefused(SignedApi.call(base(), KEY, "POST", PATH, body,
                SignedApi.signed(KEY, now - 301_000, "POST", PATH, body)), "SIGNATURE_EXPIRED");
        assertRefused(SignedApi.call(base(), KEY, "POST", PATH, body,
                SignedApi.signed(KEY, now + 301_000, "POST", PATH, body)), "SIGNATURE_EXPIRED");
        assertRefused(SignedApi.call(base(), KEY, "POST", PATH, body,
                Map.of("X-MSS-Timestamp", "yesterday", "X-MSS-Signature", "00")), "SIGNATURE_EXPIRED");
    }

    @Test
    void anAlteredRequestOrAnotherKeysSignatureIsBad() throws Exception {
        long now = System.currentTimeMillis();
        // signed for one payload, sent with another
        assertRefused(SignedApi.call(base(), KEY, "POST", PATH, push("altered"),
                SignedApi.signed(KEY, now, "POST", PATH, push("original"))), "BAD_SIGNATURE");
        // signed for another path
        assertRefused(SignedApi.call(base(), KEY, "POST", PATH, push("p"),
                SignedApi.signed(KEY, now, "POST", "/api/v1/push/global", push("p"))), "BAD_SIGNATURE");
        // signed with a different key
        assertRefused(SignedApi.call(base(), KEY, "POST", PATH, push("p"),
                SignedApi.signed("another-key", now, "POST", PATH, push("p"))), "BAD_SIGNATURE");
        // only one of the two headers
        assertRefused(SignedApi.call(base(), KEY, "POST", PATH, push("p"),
                Map.of("X-MSS-Timestamp", Long.toString(now))), "BAD_SIGNATURE");
        // a valid signature does not replace the key
        assertThat(SignedApi.call(base(), "wrong-key", "POST", PATH, push("p"),
                SignedApi.signed("wrong-key", now, "POST", PATH, push("p"))).status()).isEqualTo(401);
    }

    @Test
    void theCliSignsWithDashDashSign() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("cli"));
        Files.writeString(work.resolve("api-key"), KEY);
        String[] push = {"push", "--biz", "ORDER", "--user", "u", "--payload", "from the cli",
                "--data-dir", work.toString(), "--api", base()};
        Process unsigned = ServerProcess.cli(work, push);
        String out = new String(unsigned.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(unsigned.waitFor()).isEqualTo(1);
        assertThat(out).contains("SIGNATURE_REQUIRED");
        String[] signedPush = java.util.Arrays.copyOf(push, push.length + 1);
        signedPush[push.length] = "--sign";
        Process signed = ServerProcess.cli(work, signedPush);
        out = new String(signed.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(signed.waitFor()).as(out).isZero();
        assertThat(out).contains("\"OK\"");
    }

    @Test
    void whenNotRequiredAPresentSignatureIsStillVerified() throws Exception {
        try (TestServer relaxed = TestServer.start(tmp.resolve("relaxed"))) {
            String base = relaxed.api.baseUrl;
            relaxed.api.createBizType("ORDER", "APPOINTED", "USER");
            assertThat(SignedApi.call(base, KEY, "POST", PATH, push("plain"), Map.of()).status()).isEqualTo(200);
            long now = System.currentTimeMillis();
            assertRefused(SignedApi.call(base, KEY, "POST", PATH, push("x"),
                    SignedApi.signed(KEY, now, "POST", PATH, push("y"))), "BAD_SIGNATURE");
            Map<String, String> good = SignedApi.signed(KEY, now, "POST", PATH, push("z"));
            assertThat(SignedApi.call(base, KEY, "POST", PATH, push("z"), good).status()).isEqualTo(200);
            assertRefused(SignedApi.call(base, KEY, "POST", PATH, push("z"), good), "REPLAYED");
        }
    }
}
