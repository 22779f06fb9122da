package io.mss.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The mistakes a newcomer makes first, each told in one line with what to do, exit code 2 and no
 * stack trace: a second server on a data dir in use, a port in use, a mistyped setting, a tool
 * run where no secrets are. Every command is a real process.
 */
class StartupErrorsTest {
    @TempDir
    Path tmp;

    @Test
    void aSecondServerOnTheSameDataDirNamesTheDataDirAndTheFirstServersPid() throws Exception {
        try (ServerProcess first = new ServerProcess(tmp.resolve("data"), Files.createDirectories(tmp.resolve("logs")))) {
            first.start();
            CliRun second = CliRun.run(tmp, "server", "--data-dir", first.dataDir.toString(), "--bind", "127.0.0.1",
                    "--sync-port", "0", "--http-port", "0");
            assertOneLineUserError(second);
            assertThat(second.errorLines().get(0))
                    .contains("the data dir " + first.dataDir.toAbsolutePath() + " is in use")
                    .contains("(pid " + first.pid() + ")")
                    .contains("--data-dir");
        }
    }

    @Test
    void aSyncPortInUseNamesThePortAndItsFlag() throws Exception {
        try (ServerSocket taken = bound()) {
            CliRun run = CliRun.run(tmp, "server", "--data-dir", "data", "--bind", "127.0.0.1",
                    "--sync-port", String.valueOf(taken.getLocalPort()), "--http-port", "0");
            assertOneLineUserError(run);
            assertThat(run.errorLines().get(0)).contains("port " + taken.getLocalPort()).contains("in use")
                    .contains("--sync-port");
        }
    }

    @Test
    void anHttpPortInUseNamesThePortAndItsFlagAndDebugAddsTheStackTrace() throws Exception {
        try (ServerSocket taken = bound()) {
            String[] args = {"server", "--data-dir", "data", "--bind", "127.0.0.1", "--sync-port", "0",
                    "--http-port", String.valueOf(taken.getLocalPort())};
            CliRun run = CliRun.run(tmp, args);
            assertOneLineUserError(run);
            assertThat(run.errorLines().get(0)).contains("port " + taken.getLocalPort()).contains("--http-port");

            String[] debug = java.util.Arrays.copyOf(args, args.length + 1);
            debug[args.length] = "--debug";
            CliRun traced = CliRun.run(tmp, debug);
            assertThat(traced.exitCode()).isEqualTo(2);
            assertThat(traced.stderr()).contains("\tat io.mss.server.").contains("--http-port");
        }
    }

    @Test
    void aMistypedSettingNamesTheClosestAndEveryValidOne() throws Exception {
        Files.writeString(tmp.resolve("mss.yaml"), "http-port: 7080\nsync-prot: 7443\n");
        CliRun run = CliRun.run(tmp, "server", "--data-dir", "data");
        assertOneLineUserError(run);
        assertThat(run.errorLines().get(0))
                .contains("unknown setting 'sync-prot' in mss.yaml (line 2)")
                .contains("did you mean 'sync-port'?")
                .contains("Valid settings: ")
                .contains("bind-host", "max-retention-days", "tls-cert", "write-buffer-low-bytes");
        assertThat(tmp.resolve("data")).doesNotExist();
    }

    @Test
    void aCertificateThatIsMissingOrNotPemIsNamed() throws Exception {
        Files.writeString(tmp.resolve("mss.yaml"), "tls-cert: tls/missing.crt\ntls-key: tls/missing.key\n");
        CliRun missing = CliRun.run(tmp, "server", "--data-dir", "data", "--bind", "127.0.0.1", "--sync-port", "0",
                "--http-port", "0");
        assertOneLineUserError(missing);
        assertThat(missing.errorLines().get(0)).contains("tls/missing.").contains("does not exist");

        Files.createDirectories(tmp.resolve("tls"));
        Files.writeString(tmp.resolve("tls/server.crt"), "not a certificate\n");
        Files.writeString(tmp.resolve("tls/server.key"), "not a key\n");
        Files.writeString(tmp.resolve("mss.yaml"), "tls-cert: tls/server.crt\ntls-key: tls/server.key\n");
        CliRun garbage = CliRun.run(tmp, "server", "--data-dir", "data", "--bind", "127.0.0.1", "--sync-port", "0",
                "--http-port", "0");
        assertOneLineUserError(garbage);
        assertThat(garbage.errorLines().get(0)).contains("cannot load the TLS certificate tls/server.crt").contains("PEM");
    }

    @Test
    void pushWhereNoSecretsAreSaysWhichDataDirOrVariable() throws Exception {
        CliRun run = CliRun.run(tmp.resolve("elsewhere"), Map.of(), "push", "--biz", "ORDER", "--user", "alice",
                "--payload", "p");
        assertOneLineUserError(run);
        assertThat(run.errorLines().get(0))
                .contains(tmp.resolve("elsewhere").resolve("data").resolve("api-key").toString())
                .contains("--data-dir").contains("MSS_API_KEY");
    }

    private static void assertOneLineUserError(CliRun run) {
        assertThat(run.exitCode()).as(run.stderr()).isEqualTo(2);
        assertThat(run.errorLines()).as(run.stderr()).hasSize(1);
        assertThat(run.stderr()).as("no stack trace without --debug").doesNotContain("\tat ").doesNotContain("Exception");
    }

    private static ServerSocket bound() throws java.io.IOException {
        ServerSocket socket = new ServerSocket();
        socket.bind(new InetSocketAddress("127.0.0.1", 0));
        return socket;
    }
}
