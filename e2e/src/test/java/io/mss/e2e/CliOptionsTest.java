package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The command line's newer options, each run as its own process against a real server:
 * {@code biz create/update/delete} with every setting, {@code push} with validity and
 * filters, {@code status} and {@code records}.
 */
class CliOptionsTest {
    @TempDir
    Path tmp;

    private TestServer server;
    /** The CLI finds the API key here, as it would in a server's data dir. */
    private Path cliData;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"));
        cliData = Files.createDirectories(tmp.resolve("cli-data"));
        Files.writeString(cliData.resolve("api-key"), TestServer.API_KEY);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** Exit code and the JSON the command printed (null when it printed none). */
    record Run(int exitCode, JsonNode json, String stdout) {
        String resultCode() {
            return json == null ? null : json.path("resultCode").asText();
        }
    }

    private Run mss(String... args) throws Exception {
        return finish(launch(args));
    }

    /** Runs independent commands side by side: each is its own JVM, and they start slowly. */
    private List<Run> mssTogether(String[]... commands) throws Exception {
        List<Process> processes = new ArrayList<>();
        for (String[] command : commands) {
            processes.add(launch(command));
        }
        List<Run> runs = new ArrayList<>();
        for (Process process : processes) {
            runs.add(finish(process));
        }
        return runs;
    }

    private Process launch(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--data-dir", cliData.toString(), "--api", "http://127.0.0.1:" + server.server.httpPort()));
        return ServerProcess.cli(tmp, all.toArray(new String[0]));
    }

    private static Run finish(Process process) throws Exception {
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = process.waitFor();
        JsonNode json = null;
        if (out.trim().startsWith("{")) {
            json = Api.JSON.readTree(out);
        }
        return new Run(code, json, out);
    }

    @Test
    void bizCreateUpdateAndDeleteTakeEverySetting() throws Exception {
        Run created = mss("biz", "create", "ORDER", "--no-multi-device", "--re-push-mode", "threshold",
                "--re-push-threshold", "50", "--status", "ONLINE", "--retention-days", "7", "--description", "orders",
                "--receipt-webhook", "http://127.0.0.1:9/receipts", "--upstream-webhook", "https://example.com/up");
        assertThat(created.exitCode()).as(created.stdout()).isZero();
        JsonNode order = created.json().path("bizType");
        assertThat(order.path("multiDevice").asBoolean(true)).isFalse();
        assertThat(order.path("persistent").asBoolean()).isTrue();
        assertThat(order.path("rePushMode").asText()).isEqualTo("THRESHOLD");
        assertThat(order.path("rePushThreshold").asInt()).isEqualTo(50);
        assertThat(order.path("status").asText()).isEqualTo("ONLINE");
        assertThat(order.path("retentionDays").asInt()).isEqualTo(7);
        assertThat(order.path("receiptWebhook").asText()).isEqualTo("http://127.0.0.1:9/receipts");
        assertThat(order.path("upstreamWebhook").asText()).isEqualTo("https://example.com/up");

        List<Run> others = mssTogether(new String[]{"biz", "create", "PING", "--no-persistent", "--multi-device"},
                new String[]{"biz", "create", "BAD", "--re-push-mode", "THRESHOLD"});
        Run ping = others.get(0);
        assertThat(ping.exitCode()).as(ping.stdout()).isZero();
        assertThat(ping.json().path("bizType").path("persistent").asBoolean(true)).isFalse();
        assertThat(ping.json().path("bizType").path("multiDevice").asBoolean()).isTrue();

        Run invalid = others.get(1);
        assertThat(invalid.exitCode()).isEqualTo(1);
        assertThat(invalid.resultCode()).isEqualTo("INVALID_BIZ_TYPE");

        // update sends only what is given: the rest stays
        Run offline = mss("biz", "update", "ORDER", "--status", "OFFLINE", "--receipt-webhook", "");
        assertThat(offline.exitCode()).as(offline.stdout()).isZero();
        JsonNode updated = offline.json().path("bizType");
        assertThat(updated.path("status").asText()).isEqualTo("OFFLINE");
        assertThat(updated.path("receiptWebhook").isNull()).isTrue();
        assertThat(updated.path("rePushThreshold").asInt()).isEqualTo(50);
        assertThat(updated.path("description").asText()).isEqualTo("orders");
        assertThat(updated.path("upstreamWebhook").asText()).isEqualTo("https://example.com/up");

        Run refused = mss("push", "--biz", "ORDER", "--user", "alice", "--payload", "while offline");
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.resultCode()).isEqualTo("CONFIG_OFFLINE");

        assertThat(mss("biz", "update", "ORDER", "--status", "ONLINE", "--re-push-mode", "ALL").json()
                .path("bizType").path("rePushThreshold").asInt()).isZero();
        Run pushed = mss("push", "--biz", "ORDER", "--user", "alice", "--payload", "order 1");
        assertThat(pushed.exitCode()).as(pushed.stdout()).isZero();
        assertThat(pushed.json().path("oplogId").asLong()).isEqualTo(1);

        List<Run> statuses = mssTogether(new String[]{"status", "--biz", "ORDER", "--user", "alice", "--id", "1"},
                new String[]{"status", "--biz", "ORDER", "--user", "alice", "--id", "2"},
                new String[]{"biz", "delete", "ORDER"});
        Run status = statuses.get(0);
        assertThat(status.exitCode()).as(status.stdout()).isZero();
        assertThat(status.json().path("oplogId").asLong()).isEqualTo(1);
        assertThat(status.json().path("acked").isArray()).isTrue();
        Run unknown = statuses.get(1);
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.resultCode()).isEqualTo("OPLOG_NOT_FOUND");

        Run hasData = statuses.get(2);
        assertThat(hasData.exitCode()).isEqualTo(1);
        assertThat(hasData.resultCode()).isEqualTo("BIZ_TYPE_HAS_DATA");
        Run forced = mss("biz", "delete", "ORDER", "--force");
        assertThat(forced.exitCode()).as(forced.stdout()).isZero();
        assertThat(server.api.call("GET", "/api/v1/biz-types/ORDER", null).status()).isEqualTo(404);

        List<Run> lists = mssTogether(new String[]{"records", "--biz", "ORDER", "--limit", "10"},
                new String[]{"records", "--type", "biz_type_deleted"});
        Run records = lists.get(0);
        assertThat(records.exitCode()).as(records.stdout()).isZero();
        List<String> types = new ArrayList<>();
        records.json().path("records").forEach(r -> types.add(r.path("type").asText()));
        assertThat(types).containsExactly("BIZ_TYPE_DELETED", "PUSH", "BIZ_TYPE_UPDATED", "BIZ_TYPE_UPDATED",
                "BIZ_TYPE_CREATED");
        Run deletions = lists.get(1);
        assertThat(deletions.json().path("records").size()).isEqualTo(1);
    }

    @Test
    void pushTakesValidityAndFilters() throws Exception {
        server.api.createBizType("NEWS", "GLOBAL", "USER");
        long now = System.currentTimeMillis();
        String from = Instant.ofEpochMilli(now - 1_000).toString();
        long to = now + 3_600_000;

        Run filtered = mss("push", "--biz", "NEWS", "--global", "--payload", "for some", "--valid-from", from,
                "--valid-to", String.valueOf(to), "--os", "ios,android", "--app-min-version", "2.0",
                "--app-max-version", "3.1.4", "--uids", "alice,bob,carol");
        assertThat(filtered.exitCode()).as(filtered.stdout()).isZero();
        assertThat(filtered.resultCode()).isEqualTo("OK");
        assertThat(filtered.json().path("oplogId").asLong()).isEqualTo(1);

        Run ranged = mss("push", "--biz", "NEWS", "--global", "--payload", "for a range", "--uid-range", "100-199",
                "--os", "ios");
        assertThat(ranged.exitCode()).as(ranged.stdout()).isZero();
        assertThat(ranged.json().path("oplogId").asLong()).isEqualTo(2);

        // what was sent is what the records show
        Run records = mss("records", "--type", "PUSH_GLOBAL", "--biz", "NEWS");
        JsonNode newest = records.json().path("records").get(0).path("detail");
        assertThat(newest.path("filter").path("uidRange").path("from").asLong()).isEqualTo(100);
        assertThat(newest.path("filter").path("uidRange").path("to").asLong()).isEqualTo(199);
        JsonNode first = records.json().path("records").get(1).path("detail");
        assertThat(first.path("validTimeStart").asLong()).isEqualTo(now - 1_000);
        assertThat(first.path("validTimeEnd").asLong()).isEqualTo(to);
        assertThat(first.path("filter").path("osType")).extracting(JsonNode::asText)
                .containsExactly("android", "ios");
        assertThat(first.path("filter").path("appMinVersion").asText()).isEqualTo("2.0");
        assertThat(first.path("filter").path("appMaxVersion").asText()).isEqualTo("3.1.4");
        assertThat(first.path("filter").path("uidCount").asInt()).isEqualTo(3);

        List<Run> wrong = mssTogether(
                // the server's refusals come back as JSON with exit code 1
                new String[]{"push", "--biz", "NEWS", "--global", "--payload", "too late", "--valid-to", "2001-01-01T00:00:00Z"},
                new String[]{"push", "--biz", "NEWS", "--global", "--payload", "p", "--app-min-version", "3",
                        "--app-max-version", "2.9"},
                // usage errors are caught before anything is sent: exit code 2
                new String[]{"push", "--biz", "NEWS", "--user", "alice", "--payload", "p", "--uids", "a"},
                new String[]{"push", "--biz", "NEWS", "--global", "--payload", "p", "--uid-range", "1..9"},
                new String[]{"push", "--biz", "NEWS", "--global", "--payload", "p", "--valid-to", "tomorrow"});
        assertThat(wrong).extracting(Run::exitCode).containsExactly(1, 1, 2, 2, 2);
        assertThat(wrong.subList(0, 2)).extracting(Run::resultCode).containsExactly("INVALID_VALIDITY", "INVALID_FILTER");
        assertThat(server.server.engine().lastId(io.mss.server.store.Scope.global("NEWS"))).isEqualTo(2);
    }
}
