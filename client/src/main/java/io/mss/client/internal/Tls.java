package io.mss.client.internal;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/** How the client sets up TLS: trust options, protocol versions, host name verification. */
final class Tls {
    /** Older versions have known weaknesses; the server speaks these two. */
    private static final List<String> PROTOCOLS = Arrays.asList("TLSv1.3", "TLSv1.2");

    final SSLSocketFactory factory;
    final boolean verifyHostname;

    private Tls(SSLSocketFactory factory, boolean verifyHostname) {
        this.factory = factory;
        this.verifyHostname = verifyHostname;
    }

    static Tls from(ClientConfig config) {
        try {
            if (config.insecureTrustAll) {
                return new Tls(context(new TrustAll()), false);
            }
            X509TrustManager tm;
            if (config.trustManager != null) {
                tm = config.trustManager;
            } else if (config.trustPem != null) {
                tm = fromPem(config.trustPem);
            } else {
                tm = defaultTrustManager(null);
            }
            return new Tls(context(tm), true);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot set up TLS trust: " + e.getMessage(), e);
        }
    }

    /** Restricts protocol versions, turns on host name verification, then handshakes. */
    void handshake(SSLSocket socket) throws IOException {
        List<String> enabled = new ArrayList<>();
        List<String> supported = Arrays.asList(socket.getSupportedProtocols());
        for (String p : PROTOCOLS) {
            if (supported.contains(p)) {
                enabled.add(p);
            }
        }
        if (enabled.isEmpty()) {
            throw new SSLException("this JVM supports neither TLSv1.3 nor TLSv1.2");
        }
        SSLParameters params = socket.getSSLParameters();
        params.setProtocols(enabled.toArray(new String[0]));
        // "HTTPS" makes the JDK check the certificate's SAN against the host we dialed
        params.setEndpointIdentificationAlgorithm(verifyHostname ? "HTTPS" : null);
        socket.setSSLParameters(params);
        socket.startHandshake();
    }

    private static SSLSocketFactory context(X509TrustManager tm) throws GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {tm}, null);
        return ctx.getSocketFactory();
    }

    static X509TrustManager fromPem(File pem) throws IOException, GeneralSecurityException {
        Collection<? extends Certificate> certs;
        try (InputStream in = new FileInputStream(pem)) {
            certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
        }
        if (certs.isEmpty()) {
            throw new GeneralSecurityException("no certificate in " + pem);
        }
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        int i = 0;
        for (Certificate c : certs) {
            ks.setCertificateEntry("trusted-" + i++, c);
        }
        return defaultTrustManager(ks);
    }

    private static X509TrustManager defaultTrustManager(KeyStore ks) throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager) {
                return (X509TrustManager) tm;
            }
        }
        throw new GeneralSecurityException("no X509TrustManager available");
    }

    /**
     * Extended, so that the JDK does not wrap it in its own host name check: insecure mode
     * deliberately checks nothing.
     */
    private static final class TrustAll extends X509ExtendedTrustManager {
        private static final X509Certificate[] NONE = new X509Certificate[0];

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return NONE;
        }
    }
}
