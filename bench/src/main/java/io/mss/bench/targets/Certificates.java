package io.mss.bench.targets;

import io.mss.server.auth.SelfSignedCertificate;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;

/** A self-signed certificate for a peer's TLS listener, and the trust the clients put in it. */
public record Certificates(Path cert, Path key) {

    /** Generates a certificate and key (PEM) in {@code dir}. */
    public static Certificates create(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path cert = dir.resolve(SelfSignedCertificate.CERT_FILE);
        Path key = dir.resolve(SelfSignedCertificate.KEY_FILE);
        SelfSignedCertificate.createIfMissing(cert, key);
        return new Certificates(cert, key);
    }

    public TrustManagerFactory trust() {
        try (InputStream in = Files.newInputStream(cert)) {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            store.setCertificateEntry("server", CertificateFactory.getInstance("X.509").generateCertificate(in));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            return tmf;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot read " + cert, e);
        }
    }

    public SSLContext sslContext() {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust().getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
