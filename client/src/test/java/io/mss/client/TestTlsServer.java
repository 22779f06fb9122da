package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.mss.protocol.Frames;
import io.mss.client.internal.proto.Ack;
import io.mss.client.internal.proto.ClientFrame;
import io.mss.client.internal.proto.Hello;
import io.mss.client.internal.proto.Pong;
import io.mss.client.internal.proto.ServerFrame;
import io.mss.client.internal.proto.UpstreamMessage;
import io.mss.client.internal.proto.UpstreamResult;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * A minimal MSS server for tests: TLS on an ephemeral loopback port, and each accepted
 * connection exposed as a {@link Peer} that the test drives frame by frame.
 */
final class TestTlsServer implements AutoCloseable {
    static final char[] PASSWORD = "changeit".toCharArray();
    private static final long TIMEOUT_SECONDS = 10;

    /** A self-signed server certificate valid for 127.0.0.1 and localhost. */
    static final class Cert {
        final File p12;
        final File pem;

        Cert(File p12, File pem) {
            this.p12 = p12;
            this.pem = pem;
        }
    }

    /** Generates a key pair and self-signed certificate with the JDK's keytool. */
    static Cert generateCert(File dir, String name) throws Exception {
        File p12 = new File(dir, name + ".p12");
        File pem = new File(dir, name + ".pem");
        String pass = new String(PASSWORD);
        keytool("-genkeypair", "-alias", "server", "-keyalg", "EC", "-keysize", "256",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", p12.getPath(), "-storepass", pass, "-keypass", pass);
        keytool("-exportcert", "-rfc", "-alias", "server", "-keystore", p12.getPath(), "-storepass", pass,
                "-file", pem.getPath());
        return new Cert(p12, pem);
    }

    private static void keytool(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(new File(System.getProperty("java.home"), "bin/keytool").getPath());
        command.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = readAll(p.getInputStream());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail("keytool " + command + " failed: " + output);
        }
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        for (int n; (n = in.read(buf)) > 0; ) {
            out.write(buf, 0, n);
        }
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    private final SSLServerSocket serverSocket;
    private final BlockingQueue<Peer> accepted = new LinkedBlockingQueue<>();
    private final List<Peer> peers = new CopyOnWriteArrayList<>();
    private final AtomicInteger acceptedCount = new AtomicInteger();
    private final AtomicInteger handshakeFailures = new AtomicInteger();

    TestTlsServer(Cert cert) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(cert.p12)) {
            ks.load(in, PASSWORD);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, PASSWORD);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        serverSocket = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket();
        serverSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread acceptor = new Thread(this::acceptLoop, "test-server-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return serverSocket.getLocalPort();
    }

    int acceptedCount() {
        return acceptedCount.get();
    }

    int handshakeFailures() {
        return handshakeFailures.get();
    }

    /** The next connection that completed its TLS handshake. */
    Peer accept() throws InterruptedException {
        Peer peer = accepted.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(peer).as("a client connection within %d s", TIMEOUT_SECONDS).isNotNull();
        return peer;
    }

    private void acceptLoop() {
        while (!serverSocket.isClosed()) {
            SSLSocket socket;
            try {
                socket = (SSLSocket) serverSocket.accept();
            } catch (IOException e) {
                return;
            }
            try {
                socket.setSoTimeout((int) TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
                socket.startHandshake();
                socket.setSoTimeout(0);
            } catch (IOException e) {
                handshakeFailures.incrementAndGet();
                closeQuietly(socket);
                continue;
            }
            Peer peer = new Peer(socket);
            peers.add(peer);
            acceptedCount.incrementAndGet();
            accepted.add(peer);
        }
    }

    @Override
    public void close() {
        try {
            serverSocket.close();
        } catch (IOException ignored) {
            // test teardown
        }
        for (Peer p : peers) {
            p.close();
        }
    }

    private static void closeQuietly(SSLSocket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // test teardown
        }
    }

    /** One client connection, seen from the server. */
    static final class Peer {
        private final SSLSocket socket;
        private final OutputStream out;
        private final BlockingQueue<ClientFrame> frames = new LinkedBlockingQueue<>();
        private final AtomicInteger pings = new AtomicInteger();
        private volatile boolean answerPings;
        private volatile boolean ended;

        Peer(SSLSocket socket) {
            this.socket = socket;
            try {
                this.out = socket.getOutputStream();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            Thread reader = new Thread(this::readLoop, "test-server-peer");
            reader.setDaemon(true);
            reader.start();
        }

        private void readLoop() {
            try {
                InputStream in = new BufferedInputStream(socket.getInputStream());
                byte[] body;
                while ((body = Frames.read(in, Frames.DEFAULT_MAX_FRAME_BYTES)) != null) {
                    ClientFrame frame = ClientFrame.parseFrom(body);
                    if (frame.hasPing()) {
                        pings.incrementAndGet();
                        if (answerPings) {
                            send(ServerFrame.newBuilder().setPong(Pong.newBuilder()
                                    .setTimestamp(frame.getPing().getTimestamp())).build());
                        }
                    } else {
                        frames.add(frame);
                    }
                }
            } catch (IOException e) {
                // the client or the test closed the connection
            } finally {
                ended = true;
            }
        }

        /** The next frame other than a Ping. */
        ClientFrame next() throws InterruptedException {
            ClientFrame frame = frames.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(frame).as("a client frame within %d s", TIMEOUT_SECONDS).isNotNull();
            return frame;
        }

        Hello nextHello() throws InterruptedException {
            ClientFrame frame = next();
            assertThat(frame.getKindCase()).isEqualTo(ClientFrame.KindCase.HELLO);
            return frame.getHello();
        }

        Ack nextAck() throws InterruptedException {
            ClientFrame frame = next();
            assertThat(frame.getKindCase()).isEqualTo(ClientFrame.KindCase.ACK);
            return frame.getAck();
        }

        UpstreamMessage nextUpstream() throws InterruptedException {
            ClientFrame frame = next();
            assertThat(frame.getKindCase()).isEqualTo(ClientFrame.KindCase.UPSTREAM);
            return frame.getUpstream();
        }

        /** Answers an upstream message as the server does. */
        void answer(UpstreamMessage m, boolean success, String code, String payload, String message)
                throws IOException {
            send(ServerFrame.newBuilder().setUpstreamResult(UpstreamResult.newBuilder()
                    .setClientMsgId(m.getClientMsgId())
                    .setSuccess(success)
                    .setCode(code)
                    .setPayload(payload)
                    .setMessage(message)).build());
        }

        /** Frames received but not taken yet (Pings excluded). */
        int pendingFrames() {
            return frames.size();
        }

        int pings() {
            return pings.get();
        }

        /** Answer every Ping with a Pong from now on, as the real server does. */
        void answerPings() {
            answerPings = true;
        }

        /** Whether the client closed (or the test closed) this connection. */
        boolean ended() {
            return ended;
        }

        void send(ServerFrame frame) throws IOException {
            synchronized (out) {
                Frames.write(out, frame);
                out.flush();
            }
        }

        void close() {
            try {
                socket.close();
            } catch (SocketException ignored) {
                // already closed
            } catch (IOException ignored) {
                // test teardown
            }
        }
    }
}
