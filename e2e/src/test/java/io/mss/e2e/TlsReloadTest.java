package io.mss.e2e;

import io.mss.server.auth.SelfSignedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A rotated certificate (tls-cert / tls-key files replaced on disk) is served to the next
 * handshake without a restart, while a device connected before the rotation stays connected and
 * keeps receiving pushes. The new certificate is seen from outside with openssl s_client.
 */
class TlsReloadTest {
    @TempDir
    Path tmp;

    @Test
    void aReplacedCertificateIsServedToNewHandshakesAndOpenConnectionsStayUp() throws Exception {
        Path first = tmp.resolve("first");
        Path second = tmp.resolve("second");
        SelfSignedCertificate.createIfMissing(first.resolve("server.crt"), first.resolve("server.key"));
        SelfSignedCertificate.createIfMissing(second.resolve("server.crt"), second.resolve("server.key"));
        Path live = Files.createDirectories(tmp.resolve("live"));
        Path cert = live.resolve("server.crt");
        Path key = live.resolve("server.key");
        Files.copy(first.resolve("server.crt"), cert);
        Files.copy(first.resolve("server.key"), key);

        try (EventLog events = new EventLog();
             TestServer server = TestServer.start(tmp.resolve("data"), c -> {
                 c.tlsCert = cert.toString();
                 c.tlsKey = key.toString();
             })) {
            server.api.createBizType("ORDER", "APPOINTED", "USER");
            assertThat(servedCertificate(server, first.resolve("server.crt"))).isEqualTo(pem(first.resolve("server.crt")));

            DeliveryChecker checker = new DeliveryChecker();
            try (Device phone = new Device("phone-1", "alice", server.syncPort(), first.resolve("server.crt").toFile(),
                    tmp.resolve("phone"), checker, "ORDER")) {
                phone.client.appToForeground();
                server.api.push("ORDER", "alice", "before", null);
                await().atMost(Duration.ofSeconds(20)).until(() -> phone.received.size() == 1);

                // the rotation as an operator (or certbot's deploy hook) does it: key, then certificate
                Files.copy(second.resolve("server.key"), key, StandardCopyOption.REPLACE_EXISTING);
                Files.copy(second.resolve("server.crt"), cert, StandardCopyOption.REPLACE_EXISTING);

                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).until(
                        () -> servedCertificate(server, second.resolve("server.crt")).equals(pem(second.resolve("server.crt"))));
                assertThat(events.contains("tls-reload cert=" + cert)).isTrue();

                // the connection made before the rotation was not dropped: the same session receives the next push
                server.api.push("ORDER", "alice", "after", null);
                await().atMost(Duration.ofSeconds(20)).until(() -> phone.received.size() == 2);
                assertThat(phone.received).extracting(m -> m.payload()).containsExactly("before", "after");
                assertThat(events.lines()).filteredOn(l -> l.startsWith("connect ")).hasSize(1);
                assertThat(events.lines()).noneMatch(l -> l.startsWith("disconnect "));
            }
        }
    }

    /** The leaf certificate a fresh handshake is given, base64 only; verified against {@code caFile}. */
    private static String servedCertificate(TestServer server, Path caFile) throws Exception {
        Process process = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + server.syncPort(),
                "-servername", "localhost", "-CAfile", caFile.toString()).redirectErrorStream(true).start();
        process.getOutputStream().close(); // EOF on stdin: s_client hangs up after the handshake
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        process.getInputStream().transferTo(out);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String text = out.toString(StandardCharsets.UTF_8);
        int begin = text.indexOf("-----BEGIN CERTIFICATE-----");
        int end = text.indexOf("-----END CERTIFICATE-----");
        if (begin < 0 || end < 0) {
            return "";
        }
        return text.substring(begin + "-----BEGIN CERTIFICATE-----".length(), end).replaceAll("\\s", "");
    }

    private static String pem(Path certFile) throws Exception {
        String text = Files.readString(certFile);
        return text.substring(text.indexOf("-----BEGIN CERTIFICATE-----") + "-----BEGIN CERTIFICATE-----".length(),
                text.indexOf("-----END CERTIFICATE-----")).replaceAll("\\s", "");
    }
}
