package io.mss.e2e;

import io.mss.server.store.Scope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** http-tls: the API port speaks HTTPS with the sync port's generated certificate, and HTTP/2 by ALPN. */
class HttpsApiTest {
    @TempDir
    static Path tmp;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"), c -> c.httpTls = true);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private String base() {
        return "https://localhost:" + server.server.httpPort();
    }

    @Test
    void aPushOverHttpsWithTheGeneratedCertificateTrustedNegotiatesHttp2() throws Exception {
        HttpClient http = HttpClient.newBuilder().sslContext(trusting(server.certFile()))
                .version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/biz-types"))
                .header("Authorization", "Bearer " + TestServer.API_KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"ORDER\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        HttpResponse<String> pushed = http.send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/push"))
                .header("Authorization", "Bearer " + TestServer.API_KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"bizType\":\"ORDER\",\"linkToken\":\"alice\",\"payload\":\"p\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(pushed.statusCode()).as(pushed.body()).isEqualTo(200);
        assertThat(pushed.version()).as("ALPN chose h2").isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(server.server.engine().lastId(Scope.user("ORDER", "alice"))).isEqualTo(1);

        // HTTP/1.1 over the same TLS port still works
        HttpResponse<String> http1 = HttpClient.newBuilder().sslContext(trusting(server.certFile()))
                .version(HttpClient.Version.HTTP_1_1).build().send(HttpRequest.newBuilder(URI.create(base()
                        + "/health/live")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(http1.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
        assertThat(http1.statusCode()).isEqualTo(200);
    }

    @Test
    void theCliPushesOverHttpsTrustingTheDataDirsCertificateOrAGivenCa() throws Exception {
        HttpClient http = HttpClient.newBuilder().sslContext(trusting(server.certFile())).build();
        assertThat(http.send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/biz-types"))
                .header("Authorization", "Bearer " + TestServer.API_KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"NEWS\"}")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(201);
        Map<String, String> env = Map.of("MSS_API_KEY", TestServer.API_KEY);
        Path dataDir = tmp.resolve("server");
        CliRun fromDataDir = CliRun.run(tmp, env, "push", "--api", base(), "--data-dir", dataDir.toString(),
                "--biz", "NEWS", "--user", "bob", "--payload", "one");
        assertThat(fromDataDir.exitCode()).as(fromDataDir.stderr()).isZero();
        CliRun withCa = CliRun.run(tmp, env, "push", "--api", base(), "--data-dir", tmp.resolve("elsewhere").toString(),
                "--ca", server.certFile().toString(), "--biz", "NEWS", "--user", "bob", "--payload", "two");
        assertThat(withCa.exitCode()).as(withCa.stderr()).isZero();
        CliRun untrusted = CliRun.run(tmp, env, "push", "--api", base(), "--data-dir", tmp.resolve("elsewhere").toString(),
                "--biz", "NEWS", "--user", "bob", "--payload", "three");
        assertThat(untrusted.exitCode()).isNotZero();
        CliRun insecure = CliRun.run(tmp, env, "push", "--api", base(), "--data-dir", tmp.resolve("elsewhere").toString(),
                "--insecure", "--biz", "NEWS", "--user", "bob", "--payload", "four");
        assertThat(insecure.exitCode()).as(insecure.stderr()).isZero();
        assertThat(server.server.engine().lastId(Scope.user("NEWS", "bob"))).isEqualTo(3);
    }

    static SSLContext trusting(Path certFile) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream pem = Files.newInputStream(certFile)) {
            trust.setCertificateEntry("mss", (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(pem));
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return context;
    }
}
