package io.mss.e2e;

import com.google.protobuf.MessageLite;
import io.mss.protocol.Frames;
import io.mss.protocol.v1.ServerFrame;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;

/** A hand-driven TLS connection to the sync port, for sending what no well-behaved client would. */
final class RawConnection implements AutoCloseable {
    private final SSLSocket socket;
    private final InputStream in;
    private final OutputStream out;

    RawConnection(int port, Path certFile) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream pem = Files.newInputStream(certFile)) {
            trust.setCertificateEntry("mss", (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(pem));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        socket = (SSLSocket) context.getSocketFactory().createSocket("localhost", port);
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    void send(MessageLite frame) throws IOException {
        Frames.write(out, frame);
        out.flush();
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** The next frame, or null when the server closed the connection. */
    ServerFrame read() throws IOException {
        byte[] body = Frames.read(in, Frames.DEFAULT_MAX_FRAME_BYTES);
        return body == null ? null : ServerFrame.parseFrom(body);
    }

    /** True when the server closed the connection (clean EOF or reset) before sending anything more. */
    boolean closedByServer() {
        try {
            return in.read() < 0;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
