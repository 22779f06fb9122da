package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code ./mss backup} of a node under push load — its server process keeps running — then
 * {@code ./mss restore} into another data dir and a node started on it: every push acknowledged
 * before the backup began is delivered, in order, to a new install, with the secrets and the TLS
 * certificate of the original node. Every command and both servers are real processes.
 */
class BackupRestoreTest {
    @TempDir
    Path tmp;

    @Test
    void aBackupUnderPushLoadRestoresEveryPushAcknowledgedBeforeIt() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        // the node keeps its secrets in its data dir, as a default install does: the backup must carry them
        Files.writeString(data.resolve("api-key"), TestServer.API_KEY);
        Files.writeString(data.resolve("token-secret"), TestServer.TOKEN_SECRET);
        Path logs = Files.createDirectories(tmp.resolve("logs"));
        List<Long> acked = new CopyOnWriteArrayList<>();
        AtomicBoolean pushing = new AtomicBoolean(true);
        List<Long> ackedBeforeBackup;
        DeliveryChecker phoneChecker = new DeliveryChecker();
        try (ServerProcess original = new ServerProcess(data, logs)) {
            original.secretsFromEnvironment = false;
            original.start();
            Api api = original.api();
            api.createBizType("ORDER", "APPOINTED", "USER");
            // alice's phone is online throughout: it gets pushes the backup will not have
            Device phone = new Device("phone-1", "alice", original.syncPort, data.resolve("tls/server.crt").toFile(),
                    tmp.resolve("phone"), phoneChecker, "ORDER");
            phone.client.appToForeground();
            Thread pusher = new Thread(() -> {
                for (int i = 0; pushing.get(); i++) {
                    Api.Answer answer = api.push("ORDER", "alice", "order " + i, "o-" + i);
                    if (answer.status() == 200 && "OK".equals(answer.body().path("resultCode").asText())) {
                        acked.add(answer.body().path("oplogId").asLong());
                    }
                }
            }, "backup-test-pusher");
            pusher.start();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> acked.size() >= 50);
                ackedBeforeBackup = List.copyOf(acked);
                CliRun backup = CliRun.run(tmp, "backup", "--data-dir", data.toString(), "--to", "backup");
                assertThat(backup.exitCode()).as(backup.stderr()).isZero();
                JsonNode summary = Api.JSON.readTree(backup.stdout());
                assertThat(summary.path("files")).extracting(JsonNode::asText).contains("api-key", "token-secret", "tls/");
                // pushes went on while the backup was taken
                assertThat(acked.size()).isGreaterThan(ackedBeforeBackup.size());

                // a running node's data dir is never restored over
                CliRun refused = CliRun.run(tmp, "restore", "--data-dir", data.toString(), "--from", "backup");
                assertThat(refused.exitCode()).isEqualTo(2);
                assertThat(refused.stderr().trim()).contains("in use by a running MSS server")
                        .contains("pid " + original.pid()).doesNotContain("\tat ");
            } finally {
                pushing.set(false);
                pusher.join(Duration.ofSeconds(30).toMillis());
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> phone.received.size() >= acked.size());
            phone.close();
        }

        Path restoredDir = tmp.resolve("restored");
        CliRun restore = CliRun.run(tmp, "restore", "--data-dir", restoredDir.toString(), "--from", "backup");
        assertThat(restore.exitCode()).as(restore.stderr()).isZero();
        assertThat(Files.readString(restoredDir.resolve("tls/server.crt")))
                .isEqualTo(Files.readString(data.resolve("tls/server.crt")));

        try (ServerProcess restored = new ServerProcess(restoredDir, logs)) {
            restored.secretsFromEnvironment = false;
            restored.start();
            // a new install of alice's, trusting the original node's certificate, with a token of the original secret
            DeliveryChecker checker = new DeliveryChecker();
            try (Device tablet = new Device("tablet-1", "alice", restored.syncPort, data.resolve("tls/server.crt").toFile(),
                    tmp.resolve("tablet"), checker, "ORDER")) {
                tablet.client.appToForeground();
                long highest = ackedBeforeBackup.stream().mapToLong(Long::longValue).max().orElseThrow();
                await().atMost(Duration.ofSeconds(60)).until(() -> tablet.received.size() >= highest);
                List<Long> ids = tablet.received.stream().map(m -> m.id()).toList();
                // in order, no gap, no duplicate: 1..n, and n covers every push acknowledged before the backup
                for (int i = 0; i < ids.size(); i++) {
                    assertThat(ids.get(i)).isEqualTo(i + 1L);
                }
                assertThat(ids).containsAll(ackedBeforeBackup);
                assertThat(tablet.received.get(0).payload()).isEqualTo("order 0");
            }
            // and the restored node takes pushes where its store left off
            Api.Answer next = restored.api().push("ORDER", "alice", "after the restore", null);
            assertThat(next.body().path("oplogId").asLong()).isGreaterThan(ackedBeforeBackup.get(ackedBeforeBackup.size() - 1));
            assertThat(restored.api().call("GET", "/api/v1/biz-types/ORDER", null).status()).isEqualTo(200);

            // the phone is ahead of the backup: it is told FULL_UPDATE, then gets the restored
            // timeline and the push made after the restore, in order, once — never a silent stall
            try (Device phone = new Device("phone-1", "alice", restored.syncPort, data.resolve("tls/server.crt").toFile(),
                    tmp.resolve("phone"), new DeliveryChecker(), "ORDER")) {
                phone.client.appToForeground();
                await().atMost(Duration.ofSeconds(60)).until(() -> !phone.received.isEmpty()
                        && "after the restore".equals(phone.received.get(phone.received.size() - 1).payload()));
                assertThat(phone.fullUpdates).containsExactly("ORDER");
                List<Long> ids = phone.received.stream().map(m -> m.id()).toList();
                for (int i = 0; i < ids.size(); i++) {
                    assertThat(ids.get(i)).isEqualTo(i + 1L);
                }
                assertThat(ids.get(ids.size() - 1)).isEqualTo(next.body().path("oplogId").asLong());
            }
        }

        // restoring over a stopped node's data dir keeps what was there
        CliRun over = CliRun.run(tmp, "restore", "--data-dir", data.toString(), "--from", "backup");
        assertThat(over.exitCode()).as(over.stderr()).isZero();
        Path aside = Path.of(Api.JSON.readTree(over.stdout()).path("previousContents").asText());
        assertThat(aside.getParent()).isEqualTo(data.toAbsolutePath().normalize());
        assertThat(aside.resolve("store")).isDirectory();
        assertThat(aside.resolve("token-secret")).hasContent(TestServer.TOKEN_SECRET);
    }
}
