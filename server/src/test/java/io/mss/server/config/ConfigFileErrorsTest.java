package io.mss.server.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A mistake in mss.yaml is told in one line naming the setting, the line and what it takes. */
class ConfigFileErrorsTest {
    @TempDir
    Path tmp;

    @Test
    void anUnknownKeyNamesTheClosestAndEveryValidOne() throws Exception {
        assertThatThrownBy(() -> load("sync-port: 7443\nmax-retention-day: 30\n"))
                .isInstanceOf(ServerConfig.ConfigException.class)
                .hasMessageStartingWith("unknown setting 'max-retention-day' in " + tmp.resolve("mss.yaml") + " (line 2)")
                .hasMessageContaining("did you mean 'max-retention-days'?")
                .hasMessageContaining("Valid settings: advertised-host, bind-host, bus,")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void aValueOfTheWrongKindNamesTheSettingAndWhatItTakes() throws Exception {
        assertThatThrownBy(() -> load("http-port: 7080\nsync-port: seven\n"))
                .hasMessage("setting 'sync-port' in " + tmp.resolve("mss.yaml") + " (line 2) must be a whole number, got 'seven'");
        assertThatThrownBy(() -> load("fsync: maybe\n"))
                .hasMessageContaining("setting 'fsync'").hasMessageContaining("must be true or false, got 'maybe'");
    }

    @Test
    void brokenYamlIsOneLineWithoutTheSourceDump() throws Exception {
        assertThatThrownBy(() -> load("sync-port: [7443\n"))
                .hasMessageStartingWith("cannot read " + tmp.resolve("mss.yaml"))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("Source:").doesNotContain("\n"));
    }

    private ServerConfig load(String yaml) throws Exception {
        Path file = Files.writeString(tmp.resolve("mss.yaml"), yaml);
        return ServerConfig.load(file, Map.of());
    }
}
