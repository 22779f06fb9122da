package io.mss.e2e;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's distribution, {@code mss-VERSION.tar.gz} as the build leaves it: unpacked with
 * tar, inspected, and its {@code bin/mss} run.
 */
class DistributionTest {
    @TempDir
    static Path tmp;

    private static final String VERSION = System.getProperty("mss.version");
    private static Path home;

    @BeforeAll
    static void unpack() throws Exception {
        Path tarball = Path.of(System.getProperty("mss.dist.tarball"));
        assertThat(tarball).as("built by the cli module's package phase").exists();
        Path into = Files.createDirectories(tmp.resolve("unpacked"));
        assertThat(run(into, "tar", "xzf", tarball.toString()).exitCode()).isZero();
        home = into.resolve("mss-" + VERSION);
    }

    @Test
    void holdsTheLauncherTheServersJarsTheSampleConfigurationAndTheLicence() throws Exception {
        assertThat(home.resolve("bin/mss")).isExecutable();
        assertThat(Files.readString(home.resolve("LICENSE"))).contains("Apache License", "Version 2.0");
        assertThat(home.resolve("NOTICE")).exists();
        assertThat(Files.readString(home.resolve("mss.yaml"))).contains("# sync-port: 7443");
        assertThat(home.resolve("deploy/mss.service")).exists();

        List<String> jars;
        try (Stream<Path> lib = Files.list(home.resolve("lib"))) {
            jars = lib.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertThat(jars).contains("mss-cli-" + VERSION + ".jar", "mss-server-" + VERSION + ".jar",
                "mss-client-" + VERSION + ".jar", "mss-protocol-" + VERSION + ".jar");
        assertThat(jars).allSatisfy(jar -> assertThat(jar).endsWith(".jar"));
        // the benchmark tool and what only it needs stay out of the server's distribution
        assertThat(jars).noneMatch(jar -> jar.matches("(?i).*(mss-bench|hivemq|jnats|jmh|xchart|junit|selenium).*"));

        for (String module : List.of("mss-cli", "mss-server")) {
            try (JarFile jar = new JarFile(home.resolve("lib").resolve(module + "-" + VERSION + ".jar").toFile())) {
                assertThat(jar.getManifest().getMainAttributes().getValue("Implementation-Version"))
                        .as(module).isEqualTo(VERSION);
            }
        }
    }

    @Test
    void binMssRunsFromTheUnpackedDistribution() throws Exception {
        // from another directory, as an installed tool is run
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        CliRun version = run(elsewhere, home.resolve("bin/mss").toString(), "--version");
        assertThat(version.exitCode()).as(version.stderr()).isZero();
        assertThat(version.stdout().trim()).matches("mss " + VERSION.replace(".", "\\.") + " \\(commit [0-9a-f]{7,40}\\)");

        CliRun bench = run(elsewhere, home.resolve("bin/mss").toString(), "bench", "all");
        assertThat(bench.exitCode()).isEqualTo(2);
        assertThat(bench.stderr()).contains("not part of the server's distribution");
    }

    @Test
    void theSystemdUnitVerifies() throws Exception {
        assertThat(run(tmp, "sh", "-c", "command -v systemd-analyze").exitCode())
                .as("systemd-analyze is required to check the unit (apt-get install -y systemd)").isZero();
        String unit = Files.readString(home.resolve("deploy/mss.service")).replace("/opt/mss", home.toString());
        Path file = Files.writeString(Files.createDirectories(tmp.resolve("units")).resolve("mss.service"), unit);
        CliRun verify = run(tmp, "systemd-analyze", "verify", file.toString());
        assertThat(verify.exitCode()).as(verify.stdout() + verify.stderr()).isZero();
        assertThat(verify.stderr()).as("warnings").isEmpty();
    }

    private static CliRun run(Path dir, String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).directory(dir.toFile()).start();
        // neither pipe can fill and block the other: these commands write a few lines at most
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new CliRun(process.exitValue(), out, err);
    }
}
