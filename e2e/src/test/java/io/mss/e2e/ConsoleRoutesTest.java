package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the console stands on, through the HTTP API of a real server: {@code GET /} leads to the
 * console, a favicon, stats sampled while no console is open, a lookup that tells a device never
 * seen from one that is offline, and a node list with an address others can reach.
 */
class ConsoleRoutesTest {
    @TempDir
    Path tmp;

    private final HttpClient http = HttpClient.newHttpClient(); // follows no redirect: they are what is checked

    @Test
    void theRootAndTheFaviconLeadToTheConsole() throws Exception {
        try (TestServer server = TestServer.start(tmp.resolve("data"))) {
            String base = server.api.baseUrl;
            HttpResponse<String> root = get(base + "/");
            assertThat(root.statusCode()).isEqualTo(302);
            assertThat(root.headers().firstValue("Location")).hasValue("/console/");

            HttpResponse<String> favicon = get(base + "/favicon.ico");
            assertThat(favicon.statusCode()).isEqualTo(302);
            assertThat(favicon.headers().firstValue("Location")).hasValue("/console/favicon.svg");
            HttpResponse<String> svg = get(base + "/console/favicon.svg");
            assertThat(svg.statusCode()).isEqualTo(200);
            assertThat(svg.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("svg"));
            assertThat(svg.body()).startsWith("<svg");
        }
    }

    @Test
    void statsAreSampledWhileNoConsoleIsOpen() throws Exception {
        try (TestServer server = TestServer.start(tmp.resolve("data"))) {
            server.api.createBizType("ORDER", "APPOINTED", "USER");
            server.api.push("ORDER", "alice", "one", null);
            // nobody asks for stats meanwhile: the server samples on its own
            await().atMost(Duration.ofSeconds(15)).until(() ->
                    server.api.call("GET", "/api/v1/stats/history", null).body().path("samples").size() >= 3);
            JsonNode history = server.api.call("GET", "/api/v1/stats/history", null).body();
            assertThat(history.path("periodMs").asLong()).isEqualTo(2000);
            JsonNode samples = history.path("samples");
            assertThat(samples.get(samples.size() - 1).path("pushes").asDouble()).isEqualTo(1);
            long second = samples.get(1).path("timestamp").asLong();
            assertThat(samples.get(1).path("timestamp").asLong()).isGreaterThan(samples.get(0).path("timestamp").asLong());

            JsonNode newer = server.api.call("GET", "/api/v1/stats/history?since=" + second, null).body().path("samples");
            // those after the second of the first read, and any the sampler added in between
            assertThat(newer.size()).isGreaterThanOrEqualTo(samples.size() - 2);
            newer.forEach(s -> assertThat(s.path("timestamp").asLong()).isGreaterThan(second));
            assertThat(server.api.call("GET", "/api/v1/stats/history?since=yesterday", null).status()).isEqualTo(400);
        }
    }

    @Test
    void aDeviceNeverSeenIsToldApartFromOneThatIsOffline() throws Exception {
        try (Fleet fleet = Fleet.start(tmp)) {
            fleet.server.api.createBizType("ORDER", "APPOINTED", "USER");
            fleet.server.api.push("ORDER", "alice", "one", null);
            Device phone = fleet.device("phone-1", "alice", "ORDER");
            await().atMost(Duration.ofSeconds(30)).until(() -> phone.received.size() == 1);
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    fleet.server.api.call("GET", "/api/v1/devices/phone-1", null).body().path("syncPoints")
                            .path(0).path("syncPoint").asLong() == 1);
            phone.close();
            await().atMost(Duration.ofSeconds(30)).until(() -> fleet.server.server.engine().sessionCount() == 0);

            JsonNode offline = fleet.server.api.call("GET", "/api/v1/devices/phone-1?userId=alice", null).body();
            assertThat(offline.path("connected").asBoolean()).isFalse();
            assertThat(offline.path("seen").asBoolean()).isTrue();
            JsonNode never = fleet.server.api.call("GET", "/api/v1/devices/phnoe-1?userId=alice", null).body();
            assertThat(never.path("connected").asBoolean()).isFalse();
            assertThat(never.path("seen").asBoolean()).isFalse();

            assertThat(fleet.server.api.call("GET", "/api/v1/users/alice", null).body().path("seen").asBoolean()).isTrue();
            assertThat(fleet.server.api.call("GET", "/api/v1/users/alcie", null).body().path("seen").asBoolean()).isFalse();
        }
    }

    @Test
    void theNodeListShowsTheAdvertisedHostInsteadOfTheWildcardAddress() throws Exception {
        try (TestServer server = TestServer.start(tmp.resolve("advertised"), c -> {
            c.bindHost = "0.0.0.0";
            c.advertisedHost = "sync.example.com";
        })) {
            JsonNode node = server.api.call("GET", "/api/v1/nodes", null).body().path("nodes").get(0);
            assertThat(node.path("syncAddress").asText()).isEqualTo("sync.example.com:" + server.syncPort());
            assertThat(node.path("httpAddress").asText()).isEqualTo("sync.example.com:" + server.server.httpPort());
        }
        try (TestServer server = TestServer.start(tmp.resolve("wildcard"), c -> c.bindHost = "0.0.0.0")) {
            JsonNode node = server.api.call("GET", "/api/v1/nodes", null).body().path("nodes").get(0);
            assertThat(node.path("syncAddress").asText()).doesNotStartWith("0.0.0.0").endsWith(":" + server.syncPort());
        }
    }

    private HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
