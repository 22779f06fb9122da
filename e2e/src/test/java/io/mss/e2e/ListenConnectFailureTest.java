package io.mss.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code mss listen} says in one line why it cannot connect (issue 16: it used to print nothing
 * until killed), keeps retrying what retrying can fix and exits 1 on what it cannot.
 */
class ListenConnectFailureTest {
    @TempDir
    Path tmp;

    @Test
    void aClosedPortIsPrintedAsRefusedWithTheRetryDelayAndListenKeepsTrying() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(data.resolve("token-secret"), "0123456789abcdef0123456789abcdef0123456789abcdef");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path work = Files.createDirectories(tmp.resolve("refused"));
        Process listen = ServerProcess.cli(work, "listen", "--data-dir", data.toString(), "--insecure",
                "--server", "localhost:" + port, "--device", "phone-1", "--biz", "ORDER-STATUS");
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> stderr(work)
                    .matches("(?s).*mss listen: cannot connect to localhost:" + port
                            + ": connection refused; retrying in \\d+\\.\\d s\n.*"));
            assertThat(listen.isAlive()).as("still retrying").isTrue();
        } finally {
            listen.destroy();
            listen.waitFor();
        }
    }

    @Test
    void aDataDirWithoutTheServersCertificateSaysUseCaAndExitsWithAnError() throws Exception {
        Path data = tmp.resolve("data");
        try (ServerProcess server = new ServerProcess(data, Files.createDirectories(tmp.resolve("logs")))) {
            server.secretsFromEnvironment = false;
            server.start();
            // the secret but not the certificate: listen falls back to the platform's trust store
            Path other = Files.createDirectories(tmp.resolve("other-data"));
            Files.copy(data.resolve("token-secret"), other.resolve("token-secret"));
            Path work = Files.createDirectories(tmp.resolve("untrusted"));
            Process listen = ServerProcess.cli(work, "listen", "--data-dir", other.toString(),
                    "--server", "localhost:" + server.syncPort, "--device", "phone-1", "--biz", "ORDER-STATUS");
            boolean exited = listen.waitFor(60, TimeUnit.SECONDS);
            if (!exited) {
                listen.destroyForcibly().waitFor();
            }
            String err = stderr(work);
            assertThat(exited).as(err).isTrue();
            assertThat(listen.exitValue()).as(err).isEqualTo(1);
            assertThat(err).startsWith("mss listen: certificate not trusted: use --ca data/tls/server.crt, the"
                    + " tls/server.crt in the server's --data-dir (there is no ");
            assertThat(err.lines().count()).as(err).isEqualTo(1);
        }
    }

    /** What the CLI process wrote to stderr: ServerProcess.cli sends it to a file in its work dir. */
    private static String stderr(Path work) throws IOException {
        try (Stream<Path> files = Files.list(work)) {
            Path log = files.filter(p -> p.getFileName().toString().startsWith("cli-listen-")).findFirst().orElse(null);
            return log == null ? "" : new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
        }
    }
}
