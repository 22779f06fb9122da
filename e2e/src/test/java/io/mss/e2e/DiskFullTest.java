package io.mss.e2e;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A data dir on a small tmpfs that really fills up: pushes then answer 503
 * STORE_UNAVAILABLE, nothing unacknowledged is reported as stored, every acknowledged push is
 * delivered, and once space is freed the server stores pushes again without a restart (the
 * store reopens its database: RocksDB keeps a failed write-ahead-log writer failed), and again
 * after a restart. Needs root (it mounts a tmpfs), as CI has.
 */
class DiskFullTest {
    @TempDir
    Path tmp;
    Path mount;
    TestServer server;

    @BeforeEach
    void mountSmallDisk() throws Exception {
        mount = Files.createDirectories(tmp.resolve("small-disk"));
        run("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mount.toString());
        server = TestServer.start(mount.resolve("data"));
        server.api.createBizType("ORDER", "APPOINTED", "USER");
    }

    @AfterEach
    void unmount() throws Exception {
        if (server != null) {
            server.close();
        }
        run("umount", mount.toString());
    }

    @Test
    void aFullDiskRefusesPushesClearlyAndRecoversWhenSpaceReturns() throws Exception {
        DeliveryChecker checker = new DeliveryChecker();
        String scope = DeliveryChecker.scope("ORDER", "USER", "gus");
        // leave only a little room, held by a file we can delete later
        Path filler = mount.resolve("filler");
        fill(filler);

        String payload = "x".repeat(4000);
        List<Long> acknowledged = new ArrayList<>();
        Api.Answer refused = null;
        for (int i = 0; i < 20_000 && refused == null; i++) {
            Api.Answer answer = server.api.push("ORDER", "gus", payload + i, null);
            if (answer.status() == 200) {
                acknowledged.add(answer.oplogId());
                checker.acknowledged(scope, answer.oplogId(), payload + i);
            } else {
                refused = answer;
            }
        }
        assertThat(refused).as("the disk never filled up").isNotNull();
        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.resultCode()).isEqualTo("STORE_UNAVAILABLE");
        assertThat(refused.body().path("message").asText()).isNotBlank();
        // still nearly full: the server keeps running and answers each push either OK (the store
        // reopened, which gives back the log space RocksDB had preallocated) or 503 again
        for (int i = 0; i < 100; i++) {
            Api.Answer again = server.api.push("ORDER", "gus", payload + "while full " + i, null);
            if (again.status() == 200) {
                acknowledged.add(again.oplogId());
                checker.acknowledged(scope, again.oplogId(), payload + "while full " + i);
            } else {
                assertThat(again.status()).isEqualTo(503);
                assertThat(again.resultCode()).isEqualTo("STORE_UNAVAILABLE");
            }
        }

        // space comes back: the same server process stores again
        Files.delete(filler);
        Api.Answer stored = server.api.push("ORDER", "gus", "after", null);
        assertThat(stored.status()).as(stored.toString()).isEqualTo(200);
        long after = stored.oplogId();
        checker.acknowledged(scope, after, "after");

        // and a restart on the same data dir keeps everything and goes on
        server.close();
        server = TestServer.start(mount.resolve("data"));
        Api.Answer afterRestart = server.api.push("ORDER", "gus", "after restart", null);
        assertThat(afterRestart.status()).as(afterRestart.toString()).isEqualTo(200);
        assertThat(afterRestart.oplogId()).isEqualTo(after + 1);
        checker.acknowledged(scope, afterRestart.oplogId(), "after restart");

        // every acknowledged push is there, in order; ids did not skip over the failed ones
        Device phone = Device.connect("gus-phone", "gus", server, tmp.resolve("state"), checker, "ORDER");
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> checker.caughtUp("gus-phone", scope));
            DeliveryChecker.Report report = checker.check(Map.of("gus-phone", List.of(scope)));
            assertThat(report.clean()).as(report.toString()).isTrue();
            // a refused push may still have reached the disk (like a crash between fsync and the
            // answer): ids continue after whatever is stored, never reusing an acknowledged one
            assertThat(after).isGreaterThan(acknowledged.get(acknowledged.size() - 1));
            assertThat(refused.body().path("message").asText()).contains("No space left on device");
        } finally {
            phone.close();
        }
    }

    private static void fill(Path filler) throws IOException {
        // all free space but about 2 MB
        long free = Files.getFileStore(filler.getParent()).getUsableSpace();
        try (RandomAccessFile file = new RandomAccessFile(filler.toFile(), "rw")) {
            byte[] block = new byte[1 << 20];
            for (long written = 0; written < free - (2L << 20); written += block.length) {
                file.write(block);
            }
        }
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (process.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed (this test needs root): " + output);
        }
    }
}
