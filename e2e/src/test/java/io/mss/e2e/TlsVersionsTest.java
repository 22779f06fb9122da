package io.mss.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sync port speaks TLS 1.2 and 1.3 with forward-secret AEAD ciphers only, checked from the
 * outside with {@code openssl s_client} (a required tool for the tests: CI fails without it).
 */
class TlsVersionsTest {
    @TempDir
    static Path tmp;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Runs s_client with the given options; returns its exit code and output. */
    private static Result sClient(String... options) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect",
                "127.0.0.1:" + server.syncPort(), "-servername", "localhost", "-CAfile", server.certFile().toString()));
        command.addAll(List.of(options));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close(); // EOF on stdin: s_client hangs up after the handshake
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        process.getInputStream().transferTo(out);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(process.exitValue(), out.toString(StandardCharsets.UTF_8));
    }

    private record Result(int exit, String output) {
    }

    @Test
    void tls13IsAccepted() throws Exception {
        Result result = sClient("-tls1_3");
        assertThat(result.output()).contains("New, TLSv1.3, Cipher is TLS_").contains("Verify return code: 0 (ok)");
    }

    @Test
    void tls12WithAForwardSecretAeadCipherIsAccepted() throws Exception {
        Result result = sClient("-tls1_2");
        assertThat(result.output()).containsPattern("New, TLSv1\\.2, Cipher is ECDHE-ECDSA-(AES\\d+-GCM-SHA\\d+|CHACHA20-POLY1305)");
    }

    @Test
    void tls11And10AreRefused() throws Exception {
        for (String version : new String[]{"-tls1_1", "-tls1"}) {
            // @SECLEVEL=0 lets this openssl even try the old versions; the server must still say no
            Result result = sClient(version, "-cipher", "DEFAULT:@SECLEVEL=0");
            assertThat(result.exit()).as(version + ": " + result.output()).isNotZero();
            assertThat(result.output()).contains("alert protocol version").contains("Cipher is (NONE)");
        }
    }

    @Test
    void cbcAndNonForwardSecretCiphersAreRefused() throws Exception {
        for (String cipher : new String[]{"AES128-SHA", "AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-SHA"}) {
            Result result = sClient("-tls1_2", "-cipher", cipher);
            assertThat(result.exit()).as(cipher + ": " + result.output()).isNotZero();
            assertThat(result.output()).contains("Cipher is (NONE)");
        }
    }
}
