package io.mss.e2e;

import com.google.protobuf.MessageLite;
import io.mss.protocol.v1.ServerFrame;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A hand-driven connection to the WebSocket port with the JDK's own WebSocket client, trusting
 * only the server's certificate: one MSS frame per binary message, no length prefix.
 * The JDK's listener thread queues what arrives; the test thread takes it.
 */
final class WebSocketConnection implements AutoCloseable {
    /** A close from the server: status and reason as a browser's CloseEvent shows them. */
    record Closed(int status, String reason) {
    }

    private final WebSocket socket;
    private final BlockingQueue<Object> received;
    private final CompletableFuture<Closed> closed;

    private WebSocketConnection(WebSocket socket, Listener listener) {
        this.socket = socket;
        this.received = listener.received;
        this.closed = listener.closed;
    }

    static WebSocketConnection open(int port, Path certFile, String origin) throws Exception {
        return open(URI.create("wss://localhost:" + port + "/sync"), certFile, origin);
    }

    static WebSocketConnection open(URI uri, Path certFile, String origin) throws Exception {
        HttpClient.Builder http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
        if (certFile != null) {
            http.sslContext(trusting(certFile));
        }
        Listener listener = new Listener();
        WebSocket.Builder builder = http.build().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10));
        if (origin != null) {
            builder.header("Origin", origin);
        }
        WebSocket socket = builder.buildAsync(uri, listener).get(20, TimeUnit.SECONDS);
        return new WebSocketConnection(socket, listener);
    }

    void send(MessageLite frame) throws Exception {
        sendRaw(frame.toByteArray());
    }

    void sendRaw(byte[] message) throws Exception {
        socket.sendBinary(ByteBuffer.wrap(message), true).get(10, TimeUnit.SECONDS);
    }

    /** Sends without waiting: the server may refuse the message from its header and close before it is all sent. */
    void sendRawUnconfirmed(byte[] message) {
        socket.sendBinary(ByteBuffer.wrap(message), true);
    }

    /** The next frame, or null when the server closed the connection first. */
    ServerFrame read() throws Exception {
        Object next = received.poll(20, TimeUnit.SECONDS);
        if (next == null) {
            throw new AssertionError("no frame and no close within 20 s");
        }
        if (next instanceof Closed) {
            received.add(next); // later reads see the close again
            return null;
        }
        return ServerFrame.parseFrom((byte[]) next);
    }

    Closed awaitClose() throws Exception {
        return closed.get(20, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        socket.abort();
    }

    private static SSLContext trusting(Path certFile) throws Exception {
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
        return context;
    }

    /** Runs on the JDK's WebSocket thread: collects message fragments, queues whole messages. */
    private static final class Listener implements WebSocket.Listener {
        final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
        final CompletableFuture<Closed> closed = new CompletableFuture<>();
        private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            partial.writeBytes(bytes);
            if (last) {
                byte[] message = partial.toByteArray();
                partial.reset();
                received.add(message);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            closed(new Closed(statusCode, reason));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            closed(new Closed(1006, String.valueOf(error)));
        }

        private void closed(Closed close) {
            if (closed.complete(close)) {
                received.add(close);
            }
        }
    }
}
