package io.mss.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the command line says when it is used wrongly: the error, a suggestion when one is close,
 * a one-line hint (never the whole help), hints in flags rather than HTTP routes; and what it
 * says about itself (--version, --help). Each command is a real process.
 */
class CliUsageTest {
    @TempDir
    Path tmp;

    @Test
    void aMistypedCommandOrOptionIsNamedWithTheClosestOneAndAOneLineHint() throws Exception {
        CliRun command = CliRun.run(tmp, "psuh");
        assertThat(command.exitCode()).isEqualTo(2);
        assertThat(command.stderr().lines()).containsExactly("mss: unknown command 'psuh'",
                "Did you mean 'mss push'?", "Try './mss --help' for more.");

        CliRun sub = CliRun.run(tmp, "biz", "delte", "ORDER");
        assertThat(sub.exitCode()).isEqualTo(2);
        assertThat(sub.stderr().lines()).contains("mss biz: unknown command 'delte'", "Did you mean 'mss biz delete'?");

        // the typo, not the "missing --payload" it causes, is what the user needs to hear
        CliRun option = CliRun.run(tmp, "push", "--biz", "ORDER", "--user", "alice", "--paylaod", "p");
        assertThat(option.exitCode()).isEqualTo(2);
        assertThat(option.stderr().lines()).containsExactly("mss push: unknown option '--paylaod'",
                "Did you mean '--payload'?", "Try './mss push --help' for more.");
    }

    @Test
    void aMissingOptionIsOneErrorLineAndOneHintLine() throws Exception {
        CliRun run = CliRun.run(tmp, "push", "--biz", "ORDER", "--user", "alice");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.stderr().lines()).containsExactly("mss push: Missing required option: '--payload=<payload>'",
                "Try './mss push --help' for more.");
        assertThat(run.stdout()).isEmpty();
    }

    @Test
    void versionNamesTheReleaseAndTheCommit() throws Exception {
        CliRun run = CliRun.run(tmp, "--version");
        assertThat(run.exitCode()).isZero();
        assertThat(run.stdout().trim()).matches("mss \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(commit [0-9a-f]{7,40}\\)");
    }

    @Test
    void everyCommandSummaryInTheHelpIsAWholeSentence() throws Exception {
        CliRun run = CliRun.run(tmp, "--help");
        assertThat(run.exitCode()).isZero();
        List<String> summaries = new ArrayList<>();
        boolean inCommands = false;
        for (String line : run.stdout().lines().toList()) {
            if (line.equals("Commands:")) {
                inCommands = true;
            } else if (inCommands && line.matches("  \\S.*")) {
                summaries.add(line.trim());
            } else if (inCommands && line.matches("\\s{4,}\\S.*")) {
                // picocli wraps a long summary onto indented lines
                summaries.set(summaries.size() - 1, summaries.get(summaries.size() - 1) + " " + line.trim());
            }
        }
        assertThat(summaries).extracting(s -> s.split("\\s+", 2)[0])
                .contains("server", "push", "listen", "biz", "bench");
        assertThat(summaries).allSatisfy(summary -> assertThat(summary).endsWith("."));
        assertThat(summaries).filteredOn(s -> s.startsWith("listen")).singleElement()
                .asString().contains("then acks it.");
    }

    @Test
    void bizDeleteOfABizTypeWithDataHintsAtTheForceFlag() throws Exception {
        try (TestServer server = TestServer.start(tmp.resolve("server"))) {
            server.api.createBizType("ORDER", "APPOINTED", "USER");
            server.api.push("ORDER", "alice", "order 1", null);
            Path cliData = Files.createDirectories(tmp.resolve("cli-data"));
            Files.writeString(cliData.resolve("api-key"), TestServer.API_KEY);
            CliRun run = CliRun.run(tmp, "biz", "delete", "ORDER", "--data-dir", cliData.toString(),
                    "--api", "http://127.0.0.1:" + server.server.httpPort());
            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.stdout()).contains("BIZ_TYPE_HAS_DATA");
            assertThat(run.stderr().lines()).containsExactly(
                    "mss: ORDER has stored oplogs: repeat with --force to delete them with it");
        }
    }
}
