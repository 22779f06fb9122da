package io.mss.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code mss listen --biz ORDER-STAUTS} exits with an error naming the known bizTypes (issue 16: it only warned and kept waiting). */
class ListenUnknownBizTypeTest {
    @TempDir
    Path tmp;

    @Test
    void aMistypedBizTypeExitsWithTheClosestKnownOneAndTheList() throws Exception {
        Path data = tmp.resolve("data");
        try (ServerProcess server = new ServerProcess(data, Files.createDirectories(tmp.resolve("logs")))) {
            server.secretsFromEnvironment = false;
            server.start();
            server.api().createBizType("ORDER-STATUS", "APPOINTED", "USER");
            server.api().createBizType("NEWS", "GLOBAL", "USER");
            CliRun listen = CliRun.run(tmp, Map.of("MSS_API_URL", "http://127.0.0.1:" + server.httpPort),
                    "listen", "--data-dir", data.toString(), "--server", "localhost:" + server.syncPort,
                    "--device", "phone-1", "--user", "alice", "--biz", "ORDER-STAUTS");
            assertThat(listen.exitCode()).isEqualTo(2);
            assertThat(listen.stderr()).contains("mss listen: the server knows no bizType ORDER-STAUTS")
                    .contains("did you mean ORDER-STATUS").contains("Known: NEWS, ORDER-STATUS")
                    .doesNotContain("\tat ");
        }
    }
}
