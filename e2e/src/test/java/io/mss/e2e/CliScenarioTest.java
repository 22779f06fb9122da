package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The README's scenario, driven only through the command line and the HTTP API: a server
 * whose secrets live in its data dir, {@code mss biz create}, pushes with the API, and
 * {@code mss listen} — which is killed with SIGKILL, and so is the server, and nothing that
 * was acknowledged is lost or printed twice.
 */
class CliScenarioTest {
    @TempDir
    Path tmp;

    @Test
    void listenGetsEveryPushInOrderAcrossListenAndServerKills() throws Exception {
        Path data = tmp.resolve("data");
        try (ServerProcess server = new ServerProcess(data, Files.createDirectories(tmp.resolve("logs")))) {
            server.secretsFromEnvironment = false;
            server.start();
            assertThat(data.resolve("api-key")).exists();
            assertThat(data.resolve("token-secret")).exists();

            Process create = ServerProcess.cli(tmp, "biz", "create", "ORDER-STATUS", "--data-dir", data.toString(),
                    "--api", "http://127.0.0.1:" + server.httpPort);
            String created = new String(create.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(create.waitFor()).as(created).isZero();
            assertThat(created).contains("\"resultCode\" : \"OK\"");

            Api api = server.api();
            pushAll(api, 1, 5);

            List<JsonNode> printed = new CopyOnWriteArrayList<>();
            Path state = tmp.resolve("listen-state");
            Process listen = startListen(server, data, state, printed);
            // a fresh JVM, TLS and the catch-up: allow for a loaded machine
            await().atMost(Duration.ofSeconds(60)).until(() -> printed.size() == 5);
            // the app dies only after its sync point is on disk; then nothing may come back
            await().atMost(Duration.ofSeconds(10)).until(() -> syncPointFile(state).contains("=5"));
            listen.destroyForcibly().waitFor();

            pushAll(api, 6, 10);          // while the app is offline
            server.kill();               // SIGKILL
            server.start();
            pushAll(server.api(), 11, 15); // after the crash

            listen = startListen(server, data, state, printed);
            await().atMost(Duration.ofSeconds(60)).until(() -> printed.size() >= 15);
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> printed.size() == 15);
            listen.destroy();
            listen.waitFor();

            assertThat(printed.stream().map(l -> l.get("id").asLong()).collect(Collectors.toList()))
                    .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 14L, 15L);
            assertThat(printed).allSatisfy(line -> {
                assertThat(line.get("biz").asText()).isEqualTo("ORDER-STATUS");
                assertThat(line.get("userId").asText()).isEqualTo("alice");
                assertThat(line.get("payload").asText()).isEqualTo("order " + line.get("id").asLong());
            });
            server.assertNoLeaksLogged();
        }
    }

    private static void pushAll(Api api, int from, int to) {
        for (int i = from; i <= to; i++) {
            Api.Answer answer = api.push("ORDER-STATUS", "alice", "order " + i, "order-" + i);
            assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
            assertThat(answer.oplogId()).isEqualTo(i);
        }
    }

    private Process startListen(ServerProcess server, Path data, Path state, List<JsonNode> printed) throws Exception {
        Process listen = ServerProcess.cli(tmp, "listen", "--data-dir", data.toString(),
                "--server", "localhost:" + server.syncPort, "--device", "phone-1", "--user", "alice",
                "--biz", "ORDER-STATUS", "--state-dir", state.toString());
        Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(
                    new InputStreamReader(listen.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    printed.add(Api.JSON.readTree(line));
                }
            } catch (java.io.IOException ignored) {
                // the process was killed
            }
        }, "listen-stdout");
        reader.setDaemon(true);
        reader.start();
        return listen;
    }

    private static String syncPointFile(Path state) throws java.io.IOException {
        Path file = state.resolve("syncpoints.properties");
        return Files.exists(file) ? Files.readString(file) : "";
    }
}
