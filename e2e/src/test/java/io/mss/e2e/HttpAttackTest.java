package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.mss.server.store.Scope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Regression tests for what an attack on the Javalin/Jetty API found: altered payloads (bad
 * UTF-8 stored as U+FFFD, a lone surrogate delivered as '?'), duplicate keys where the last one
 * won, framing that hung or got an HTML page, slow bodies that starved every other push, and a
 * payload limit counted in UTF-16 units. Raw sockets where an HTTP client would refuse to send
 * the bad request.
 */
class HttpAttackTest {
    @TempDir
    static Path tmp;
    static TestServer server;
    static final String EMOJI = "\uD83D\uDE00"; // one character, two UTF-16 units, four UTF-8 bytes

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"));
        server.api.createBizType("ORDER", "APPOINTED", "USER");
        server.api.post("/api/v1/biz-types", java.util.Map.of("id", "NEWS", "range", "GLOBAL", "target", "USER"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static long stored(String user) {
        return server.server.engine().lastId(Scope.user("ORDER", user));
    }

    @Test
    void aPushKeyReachesNoAdminRouteThroughDotSegmentsOrEncodedPaths() throws Exception {
        String push = io.mss.server.auth.ApiKeys.create(server.dataDir, io.mss.server.auth.ApiKeys.Role.push,
                "dot-segments", System.currentTimeMillis()).key();
        byte[] mint = "{\"deviceId\":\"d\",\"userId\":\"victim\"}".getBytes(StandardCharsets.UTF_8);
        // each of these is routed to an admin route; the role is judged on that route, not on the raw path
        for (String path : List.of("/api/v1/push/../tokens", "/api/v1/push/%2e%2e/tokens", "/api/v1/push/%2E%2E/tokens",
                "/api/v1/push/./../tokens", "/api/v1/push/..%2ftokens")) {
            Raw answer = send(concat(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + push
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + mint.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII), mint));
            assertThat(answer.status).as(path + ": " + answer.text()).isIn(400, 403, 404);
            assertThat(answer.text()).as(path).doesNotContain("\"token\"");
        }
        for (String path : List.of("/api/v1/push/../biz-types", "/api/v1/push/%2e%2e/records")) {
            Raw answer = send(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + push
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(answer.status).as(path + ": " + answer.text()).isIn(400, 403, 404);
        }
    }

    @Test
    void contentAfterTheJsonObjectIsRefusedNotIgnored() throws Exception {
        for (String trailing : List.of("{\"payload\":\"y\"}", "garbage", "]")) {
            Raw answer = send(request("POST", "/api/v1/push", ("{\"bizType\":\"ORDER\",\"linkToken\":\"trailing\","
                    + "\"payload\":\"x\"}" + trailing).getBytes(StandardCharsets.UTF_8)));
            assertThat(answer.status).as(trailing + ": " + answer.text()).isEqualTo(400);
            assertThat(answer.json().path("resultCode").asText()).isEqualTo("INVALID_JSON");
        }
        assertThat(stored("trailing")).isZero();
    }

    @Test
    void invalidUtf8BytesAreRefusedNamingTheFieldAndNothingIsStored() throws Exception {
        byte[] body = concat("{\"bizType\":\"ORDER\",\"linkToken\":\"utf8\",\"payload\":\"a",
                new byte[]{(byte) 0xFF}, "b\"}");
        Raw answer = send(request("POST", "/api/v1/push", body));
        assertThat(answer.status).isEqualTo(400);
        assertThat(answer.json().path("resultCode").asText()).isEqualTo("INVALID_ENCODING");
        assertThat(answer.json().path("message").asText()).contains("payload");

        // what Jackson decodes without complaint is refused too: an overlong '/' and a surrogate as bytes (CESU-8)
        for (byte[] bad : List.of(new byte[]{(byte) 0xC0, (byte) 0xAF},
                new byte[]{(byte) 0xED, (byte) 0xA0, (byte) 0xBD, (byte) 0xED, (byte) 0xB8, (byte) 0x80})) {
            Raw refused = send(request("POST", "/api/v1/push",
                    concat("{\"bizType\":\"ORDER\",\"linkToken\":\"utf8\",\"payload\":\"", bad, "\"}")));
            assertThat(refused.status).as(refused.text()).isEqualTo(400);
            assertThat(refused.json().path("resultCode").asText()).isEqualTo("INVALID_ENCODING");
        }
        assertThat(stored("utf8")).isZero();
    }

    @Test
    void aLoneSurrogateEscapeIsRefusedNamingTheFieldInEveryRoute() {
        Api.Answer single = server.api.call("POST", "/api/v1/push",
                "{\"bizType\":\"ORDER\",\"linkToken\":\"lone\",\"payload\":\"x\\ud83dy\"}");
        assertThat(single.status()).isEqualTo(400);
        assertThat(single.resultCode()).isEqualTo("INVALID_ENCODING");
        assertThat(single.body().path("message").asText()).contains("'payload'");

        Api.Answer batch = server.api.call("POST", "/api/v1/push/batch", "{\"orders\":[{\"bizType\":\"ORDER\","
                + "\"linkToken\":\"lone\",\"payload\":\"ok\"},{\"bizType\":\"ORDER\",\"linkToken\":\"lone\","
                + "\"payload\":\"p\",\"thirdMsgId\":\"\\udc00\"}]}");
        assertThat(batch.status()).isEqualTo(400);
        assertThat(batch.resultCode()).isEqualTo("INVALID_ENCODING");
        assertThat(batch.body().path("message").asText()).contains("orders.1.thirdMsgId");
        assertThat(stored("lone")).isZero();

        // a whole pair, escaped, is one character and goes through unchanged
        Api.Answer pair = server.api.call("POST", "/api/v1/push",
                "{\"bizType\":\"ORDER\",\"linkToken\":\"lone\",\"payload\":\"\\ud83d\\ude00\"}");
        assertThat(pair.status()).isEqualTo(200);
        assertThat(stored("lone")).isEqualTo(1);
    }

    @Test
    void duplicateKeysAreRefusedInEveryRouteAndInsideBatchOrders() {
        String twice = "\"linkToken\":\"alice\",\"linkToken\":\"mallory\"";
        List<String[]> requests = List.of(
                new String[]{"/api/v1/push", "{\"bizType\":\"ORDER\"," + twice + ",\"payload\":\"p\"}"},
                new String[]{"/api/v1/push/global", "{\"bizType\":\"NEWS\",\"payload\":\"p\",\"payload\":\"q\"}"},
                new String[]{"/api/v1/push/batch", "{\"orders\":[{\"bizType\":\"ORDER\"," + twice + ",\"payload\":\"p\"}]}"},
                new String[]{"/api/v1/push/batch", "{\"orders\":[],\"orders\":[{\"bizType\":\"ORDER\",\"linkToken\":"
                        + "\"mallory\",\"payload\":\"p\"}]}"},
                new String[]{"/api/v1/biz-types", "{\"id\":\"DUP\",\"id\":\"DUP2\"}"});
        for (String[] request : requests) {
            Api.Answer answer = server.api.call("POST", request[0], request[1]);
            assertThat(answer.status()).as(request[0] + " " + request[1]).isEqualTo(400);
            assertThat(answer.resultCode()).isEqualTo("INVALID_JSON");
            assertThat(answer.body().path("message").asText()).containsIgnoringCase("duplicate field");
        }
        assertThat(stored("mallory")).isZero();
        assertThat(stored("alice")).isZero();
        assertThat(server.api.call("GET", "/api/v1/biz-types/DUP2", null).status()).isEqualTo(404);
    }

    @Test
    void aContentLengthOf2To31IsRefusedAtOnce() throws Exception {
        long t0 = System.nanoTime();
        Raw answer = send(head("POST", "/api/v1/push", "Content-Length: 2147483648\r\n"), 5_000);
        assertThat(answer.status).isEqualTo(413);
        assertThat(answer.json().path("resultCode").asText()).isEqualTo("REQUEST_TOO_LARGE");
        assertThat(answer.closed).as("connection closed: the body will not be read").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void malformedFramingGetsJsonAtOnceAndTheConnectionClosed() throws Exception {
        String body = "{\"bizType\":\"ORDER\",\"linkToken\":\"framing\",\"payload\":\"p\"}";
        int n = body.length();
        List<String> framings = List.of(
                "Content-Length: abc\r\n",
                "Content-Length: " + n + "\r\nContent-Length: " + (n + 1) + "\r\n",
                "Transfer-Encoding: chunked\r\nContent-Length: " + n + "\r\n",
                "Transfer-Encoding: gzip, chunked\r\n",
                "Transfer-Encoding: identity\r\n",
                "Transfer-Encoding: foo, chunked\r\n");
        for (String framing : framings) {
            byte[] request = concat(head("POST", "/api/v1/push", framing), chunkedOrPlain(framing, body));
            Raw answer = send(request, 5_000);
            assertThat(answer.status).as(framing).isBetween(400, 499);
            assertThat(answer.contentType).as(framing).startsWith("application/json");
            assertThat(answer.json().path("success").asBoolean(true)).as(framing).isFalse();
            assertThat(answer.closed).as(framing + ": connection closed").isTrue();
        }
        Raw gzip = send(concat(head("POST", "/api/v1/push", "Content-Encoding: gzip\r\nContent-Length: " + n + "\r\n"),
                body.getBytes(StandardCharsets.UTF_8)), 5_000);
        assertThat(gzip.status).isEqualTo(415);
        assertThat(gzip.json().path("resultCode").asText()).isEqualTo("UNSUPPORTED_CONTENT_ENCODING");
        assertThat(stored("framing")).isZero();
    }

    @Test
    void slowBodiesHoldNoThreadAndGet408AtTheirDeadline() throws Exception {
        List<Socket> slow = new ArrayList<>();
        ScheduledExecutorService drip = Executors.newSingleThreadScheduledExecutor();
        try {
            for (int i = 0; i < 250; i++) {
                Socket socket = new Socket("127.0.0.1", server.server.httpPort());
                socket.getOutputStream().write(head("POST", "/api/v1/push", "Content-Length: 200\r\n"));
                socket.getOutputStream().write('{');
                slow.add(socket);
            }
            // one more byte every 5 s on each: a body that never ends in time
            drip.scheduleAtFixedRate(() -> slow.forEach(s -> {
                try {
                    s.getOutputStream().write(' ');
                } catch (IOException closed) {
                    // answered 408 and closed: expected once the deadline passed
                }
            }), 5, 5, TimeUnit.SECONDS);

            HttpClient http = HttpClient.newHttpClient();
            long t0 = System.nanoTime();
            List<CompletableFuture<HttpResponse<String>>> honest = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                honest.add(http.sendAsync(HttpRequest.newBuilder(URI.create(server.api.baseUrl + "/api/v1/push"))
                        .header("Authorization", "Bearer " + TestServer.API_KEY)
                        .POST(HttpRequest.BodyPublishers.ofString("{\"bizType\":\"ORDER\",\"linkToken\":\"honest\","
                                + "\"payload\":\"p" + i + "\"}")).build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (CompletableFuture<HttpResponse<String>> answer : honest) {
                assertThat(answer.get(8, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            }
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
            assertThat(stored("honest")).isEqualTo(100);

            // the default deadline, 10 s after the headers: 408 with JSON, then the connection closes
            Raw timedOut = read(slow.get(0), 15_000);
            assertThat(timedOut.status).isEqualTo(408);
            assertThat(timedOut.json().path("resultCode").asText()).isEqualTo("REQUEST_TIMEOUT");
            assertThat(timedOut.closed).isTrue();
        } finally {
            drip.shutdownNow();
            for (Socket socket : slow) {
                socket.close();
            }
        }
    }

    @Test
    void thePayloadLimitCountsCharactersNotUtf16Units() {
        for (String unit : List.of(EMOJI, "a")) {
            Api.Answer fits = server.api.call("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"limit\","
                    + "\"payload\":\"" + unit.repeat(4096) + "\"}");
            assertThat(fits.status()).as(unit + " × 4096").isEqualTo(200);
            Api.Answer over = server.api.call("POST", "/api/v1/push", "{\"bizType\":\"ORDER\",\"linkToken\":\"limit\","
                    + "\"payload\":\"" + unit.repeat(4097) + "\"}");
            assertThat(over.status()).as(unit + " × 4097").isEqualTo(400);
            assertThat(over.resultCode()).isEqualTo("PAYLOAD_TOO_LARGE");
            assertThat(over.body().path("message").asText()).contains("4097 characters");
        }
        assertThat(stored("limit")).isEqualTo(2);
    }

    @Test
    void aHundredPipelinedPushesOnOneConnectionAreAnsweredInOrder() throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < 100; i++) {
            byte[] body = ("{\"bizType\":\"ORDER\",\"linkToken\":\"pipelined\",\"payload\":\"p\",\"thirdMsgId\":\"m" + i
                    + "\"}").getBytes(StandardCharsets.UTF_8);
            all.write(request("POST", "/api/v1/push", body, false));
        }
        try (Socket socket = new Socket("127.0.0.1", server.server.httpPort())) {
            socket.setSoTimeout(15_000);
            socket.getOutputStream().write(all.toByteArray()); // one write: every request before any answer
            InputStream in = socket.getInputStream();
            for (int i = 0; i < 100; i++) {
                Raw answer = readOne(in);
                assertThat(answer.status).isEqualTo(200);
                assertThat(answer.json().path("oplogId").asLong()).as("answer " + i).isEqualTo(i + 1);
            }
        }
    }

    @Test
    void http2InClearTextByPriorKnowledgeAndByUpgrade() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", server.server.httpPort())) {
            socket.setSoTimeout(5_000);
            OutputStream out = socket.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[]{0, 0, 0, 4, 0, 0, 0, 0, 0}); // an empty SETTINGS frame
            byte[] frame = socket.getInputStream().readNBytes(9);
            assertThat(frame[3]).as("the server's first frame is SETTINGS").isEqualTo((byte) 4);
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> live = http.send(HttpRequest.newBuilder(URI.create(server.api.baseUrl + "/health/live"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(live.version()).isEqualTo(HttpClient.Version.HTTP_2);
        HttpResponse<String> pushed = http.send(HttpRequest.newBuilder(URI.create(server.api.baseUrl + "/api/v1/push"))
                .header("Authorization", "Bearer " + TestServer.API_KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"bizType\":\"ORDER\",\"linkToken\":\"h2c\",\"payload\":\"p\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(pushed.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(pushed.statusCode()).as(pushed.body()).isEqualTo(200);
        assertThat(stored("h2c")).isEqualTo(1);
    }

    // --- raw HTTP/1.1 ---

    private static byte[] head(String method, String path, String extraHeaders) {
        return (method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TestServer.API_KEY
                + "\r\nContent-Type: application/json\r\n" + extraHeaders + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] request(String method, String path, byte[] body) {
        return request(method, path, body, true);
    }

    private static byte[] request(String method, String path, byte[] body, boolean close) {
        return concat(head(method, path, "Content-Length: " + body.length + "\r\n" + (close ? "Connection: close\r\n" : "")),
                body);
    }

    private static byte[] chunkedOrPlain(String framing, String body) {
        if (framing.contains("chunked") && !framing.contains("Content-Length")) {
            return (Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n").getBytes(StandardCharsets.UTF_8);
        }
        return body.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            byte[] bytes = part instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : (byte[]) part;
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    private static Raw send(byte[] request) throws IOException {
        return send(request, 10_000);
    }

    private static Raw send(byte[] request, int timeoutMs) throws IOException {
        Socket socket = new Socket("127.0.0.1", server.server.httpPort());
        try {
            socket.getOutputStream().write(request);
            return read(socket, timeoutMs);
        } finally {
            socket.close();
        }
    }

    /** One answer, then whether the server closed the connection after it. */
    private static Raw read(Socket socket, int timeoutMs) throws IOException {
        socket.setSoTimeout(timeoutMs);
        InputStream in = socket.getInputStream();
        Raw answer = readOne(in);
        boolean closed;
        try {
            socket.setSoTimeout(2_000);
            closed = in.read() == -1;
        } catch (SocketTimeoutException open) {
            closed = false;
        } catch (IOException reset) {
            closed = true;
        }
        return new Raw(answer.status, answer.contentType, answer.body, closed);
    }

    private static Raw readOne(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed before an answer: " + head);
            }
            head.write(b);
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        int length = 0;
        String type = "";
        for (String line : lines) {
            String lower = line.toLowerCase(java.util.Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            } else if (lower.startsWith("content-type:")) {
                type = line.substring(13).trim();
            }
        }
        return new Raw(status, type, in.readNBytes(length), false);
    }

    private record Raw(int status, String contentType, byte[] body, boolean closed) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() {
            try {
                return Api.JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + text(), e);
            }
        }
    }
}
