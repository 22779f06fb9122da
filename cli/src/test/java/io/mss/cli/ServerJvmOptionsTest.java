package io.mss.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Both launchers start a server with the JVM options the benchmark measures. */
class ServerJvmOptionsTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

    @Test
    void theSourceLauncherAndTheDistributionsLauncherUseTheDefaultServerOptions() throws IOException {
        String expected = "${MSS_SERVER_GC_OPTS-" + ServerJvmOptions.DEFAULT + "}";
        assertThat(Files.readString(ROOT.resolve("mss"))).contains(expected);
        assertThat(Files.readString(ROOT.resolve("cli/src/dist/bin/mss"))).contains(expected);
    }
}
