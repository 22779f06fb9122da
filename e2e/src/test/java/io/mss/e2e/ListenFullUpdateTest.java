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
 * {@code mss listen} tells the person at the terminal about a FULL_UPDATE in one JSON line, in
 * order with the message lines: here a THRESHOLD bizType cuts a fresh device's backlog (a gap).
 */
class ListenFullUpdateTest {
    @TempDir
    Path tmp;

    @Test
    void aTrimmedBacklogPrintsOneFullUpdateLineBeforeTheMessagesThatRemain() throws Exception {
        Path data = tmp.resolve("data");
        try (ServerProcess server = new ServerProcess(data, Files.createDirectories(tmp.resolve("logs")))) {
            server.secretsFromEnvironment = false;
            server.start();
            Process create = ServerProcess.cli(tmp, "biz", "create", "FEED", "--data-dir", data.toString(),
                    "--api", "http://127.0.0.1:" + server.httpPort, "--re-push-mode", "THRESHOLD",
                    "--re-push-threshold", "2");
            String created = new String(create.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(create.waitFor()).as(created).isZero();
            Api api = server.api();
            for (int i = 1; i <= 5; i++) {
                Api.Answer answer = api.push("FEED", "alice", "feed " + i, "feed-" + i);
                assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
            }

            List<JsonNode> printed = new CopyOnWriteArrayList<>();
            Process listen = ServerProcess.cli(tmp, "listen", "--data-dir", data.toString(),
                    "--server", "localhost:" + server.syncPort, "--device", "phone-1", "--user", "alice",
                    "--biz", "FEED", "--state-dir", tmp.resolve("listen-state").toString());
            Thread reader = new Thread(() -> {
                try (BufferedReader lines = new BufferedReader(
                        new InputStreamReader(listen.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = lines.readLine()) != null) {
                        printed.add(Api.JSON.readTree(line));
                    }
                } catch (java.io.IOException ignored) {
                    // the process ended
                }
            }, "listen-stdout");
            reader.setDaemon(true);
            reader.start();
            try {
                // a fresh JVM, TLS and the catch-up: allow for a loaded machine
                await().atMost(Duration.ofSeconds(60)).until(() -> printed.size() >= 3);
                await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> printed.size() == 3);
            } finally {
                listen.destroy();
                listen.waitFor();
            }

            JsonNode fullUpdate = printed.get(0);
            assertThat(fullUpdate.get("biz").asText()).isEqualTo("FEED");
            assertThat(fullUpdate.get("event").asText()).isEqualTo("FULL_UPDATE");
            assertThat(fullUpdate.get("restart").asBoolean()).isFalse();
            assertThat(fullUpdate.has("epoch")).isTrue();
            assertThat(fullUpdate.has("detail")).isTrue();
            assertThat(printed.subList(1, 3).stream().map(l -> l.get("payload").asText()).collect(Collectors.toList()))
                    .containsExactly("feed 4", "feed 5");
            assertThat(printed.subList(1, 3)).allSatisfy(line -> assertThat(line.has("event")).isFalse());
        }
    }
}
