package io.mss.server.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The session-validation and upstream keys: defaults, YAML names, validation. */
class WebhookConfigTest {
    @TempDir
    Path tmp;

    @Test
    void defaults() {
        ServerConfig config = new ServerConfig().validate();
        assertThat(config.sessionValidationUrl).isEmpty();
        assertThat(config.sessionValidationCacheSeconds).isEqualTo(300);
        assertThat(config.sessionValidationTimeoutMs).isEqualTo(3000);
        assertThat(config.upstreamTimeoutMs).isEqualTo(5000);
        assertThat(config.upstreamMaxInFlight).isEqualTo(256);
    }

    @Test
    void readsKebabCaseYaml() throws Exception {
        Path yaml = tmp.resolve("mss.yaml");
        Files.writeString(yaml, """
                session-validation-url: https://backend.example/mss/validate
                session-validation-cache-seconds: 0
                session-validation-timeout-ms: 1500
                upstream-timeout-ms: 2000
                upstream-max-in-flight: 32
                """);
        ServerConfig config = ServerConfig.load(yaml, Map.of()).validate();
        assertThat(config.sessionValidationUrl).isEqualTo("https://backend.example/mss/validate");
        assertThat(config.sessionValidationCacheSeconds).isZero();
        assertThat(config.sessionValidationTimeoutMs).isEqualTo(1500);
        assertThat(config.upstreamTimeoutMs).isEqualTo(2000);
        assertThat(config.upstreamMaxInFlight).isEqualTo(32);
    }

    @Test
    void refusesBadValuesAllAtOnce() {
        ServerConfig config = new ServerConfig();
        config.sessionValidationUrl = "backend:8080/validate";
        config.sessionValidationCacheSeconds = -1;
        config.sessionValidationTimeoutMs = 0;
        config.upstreamTimeoutMs = 0;
        config.upstreamMaxInFlight = 0;
        assertThatThrownBy(config::validate)
                .isInstanceOf(ServerConfig.ConfigException.class)
                .hasMessageContaining("session-validation-url")
                .hasMessageContaining("session-validation-cache-seconds")
                .hasMessageContaining("session-validation-timeout-ms")
                .hasMessageContaining("upstream-timeout-ms")
                .hasMessageContaining("upstream-max-in-flight");
    }
}
