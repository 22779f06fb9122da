package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mss.protocol.v1.ErrorCode;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every failed connect attempt is reported to the listeners with what went wrong and when the next one comes. */
class MssClientConnectFailureTest extends ClientTestSupport {
    private final List<ConnectFailure> failures = new CopyOnWriteArrayList<>();
    private final List<LogRecord> warnings = new CopyOnWriteArrayList<>();
    /** Held, so that the handler stays on the logger the client uses. */
    private final Logger clientLog = Logger.getLogger("io.mss.client");
    private final Handler warningCollector = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                warnings.add(record);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private final List<ServerSocket> plainServers = new CopyOnWriteArrayList<>();

    @BeforeEach
    void collectWarnings() {
        clientLog.addHandler(warningCollector);
    }

    @AfterEach
    void stopCollecting() throws IOException {
        clientLog.removeHandler(warningCollector);
        for (ServerSocket s : plainServers) {
            s.close();
        }
    }

    private MssClient startReporting(MssClient.Builder builder) {
        MssClient client = start(builder);
        client.addConnectionListener(new ConnectionListener() {
            @Override
            public void onConnectFailed(ConnectFailure failure) {
                failures.add(failure);
            }
        });
        client.registerBiz("notes", received::add);
        client.appToForeground();
        return client;
    }

    private List<String> warningsAbout(String text) {
        return warnings.stream().map(LogRecord::getMessage).filter(m -> m.contains(text)).collect(Collectors.toList());
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A TCP listener that is no TLS server: it accepts and hands each socket to {@code peer}. */
    private int plainServer(SocketHandler peer) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        plainServers.add(s);
        Thread t = new Thread(() -> {
            while (!s.isClosed()) {
                try {
                    peer.handle(s.accept());
                } catch (IOException e) {
                    return;
                }
            }
        }, "plain-server");
        t.setDaemon(true);
        t.start();
        return s.getLocalPort();
    }

    private interface SocketHandler {
        void handle(Socket socket) throws IOException;
    }

    @Test
    void aClosedPortIsReportedAsRefusedOnEveryAttemptWithTheRetryDelayAndWarnsOncePerStreak() throws Exception {
        int port = closedPort();
        startReporting(builder().server("127.0.0.1", port));

        await().atMost(WAIT).until(() -> failures.size() >= 3);
        ConnectFailure first = failures.get(0);
        assertThat(first.reason()).isEqualTo(ConnectFailure.Reason.REFUSED);
        assertThat(first.willRetry()).isTrue();
        // reconnectBackoff(20, 100) in the test builder
        assertThat(first.retryInMillis()).isBetween(20L, 100L);
        assertThat(first.message()).matches("cannot connect to 127\\.0\\.0\\.1:" + port
                + ": connection refused; retrying in 0\\.\\d s");
        assertThat(failures.subList(0, 3)).extracting(ConnectFailure::consecutiveFailures).containsExactly(1, 2, 3);
        assertThat(warningsAbout("connection refused")).hasSize(1);
        assertThat(events).isEmpty();
    }

    @Test
    void anUntrustedCertificateIsReportedAsTlsTrust() throws Exception {
        startReporting(builder().trustCertificate(otherCert.pem));

        await().atMost(WAIT).until(() -> !failures.isEmpty());
        ConnectFailure f = failures.get(0);
        assertThat(f.reason()).isEqualTo(ConnectFailure.Reason.TLS_TRUST);
        assertThat(f.detail()).startsWith("certificate not trusted: ");
        assertThat(f.willRetry()).isTrue();
        assertThat(f.cause()).isNotNull();
        assertThat(warningsAbout("certificate not trusted")).hasSize(1);
    }

    @Test
    void aTokenProviderReturningNullIsReportedAndTheStreakStartsOverAfterAWelcome() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        MssClient client = startReporting(builder().tokenProvider((did, uid) -> {
            int n = calls.incrementAndGet();
            // two nulls, a token, then nulls again
            return n == 3 ? "token:" + did : null;
        }));

        TestTlsServer.Peer peer = connect(client, "s-1", null);
        assertThat(failures).hasSize(2);
        assertThat(failures).allSatisfy(f -> {
            assertThat(f.reason()).isEqualTo(ConnectFailure.Reason.TOKEN_PROVIDER);
            assertThat(f.detail()).isEqualTo("token provider returned null");
        });
        assertThat(warningsAbout("token provider returned null")).hasSize(1);

        peer.close();
        await().atMost(WAIT).until(() -> failures.size() >= 3);
        assertThat(failures.get(2).consecutiveFailures()).isEqualTo(1);
        assertThat(warningsAbout("token provider returned null")).hasSize(2);
    }

    @Test
    void aThrowingTokenProviderIsReportedWithItsException() throws Exception {
        startReporting(builder().tokenProvider((did, uid) -> {
            throw new IOException("backend down");
        }));

        await().atMost(WAIT).until(() -> !failures.isEmpty());
        assertThat(failures.get(0).reason()).isEqualTo(ConnectFailure.Reason.TOKEN_PROVIDER);
        assertThat(failures.get(0).detail()).contains("backend down");
        assertThat(failures.get(0).cause()).isInstanceOf(IOException.class);
    }

    @Test
    void aServerErrorBeforeWelcomeIsReportedWithItsCode() throws Exception {
        startReporting(builder());
        TestTlsServer.Peer peer = server.accept();
        peer.nextHello();
        peer.send(error(ErrorCode.INVALID_TOKEN, false));

        await().atMost(WAIT).until(() -> !failures.isEmpty());
        ConnectFailure f = failures.get(0);
        assertThat(f.reason()).isEqualTo(ConnectFailure.Reason.SERVER_ERROR);
        assertThat(f.serverErrorCode()).isEqualTo("INVALID_TOKEN");
        assertThat(f.willRetry()).isFalse();
        assertThat(f.retryInMillis()).isEqualTo(-1);
        assertThat(f.message()).endsWith("server error INVALID_TOKEN: scripted; not retrying");
        // reported as a refusal for good too, as before
        await().atMost(WAIT).until(() -> events.contains("disconnected false server error INVALID_TOKEN: scripted"));
    }

    @Test
    void aPeerThatNeverAnswersTheTlsHandshakeIsATimeout() throws Exception {
        List<Socket> held = new CopyOnWriteArrayList<>();
        int port = plainServer(held::add);
        startReporting(builder().server("127.0.0.1", port).connectTimeoutMillis(300));

        await().atMost(WAIT).until(() -> !failures.isEmpty());
        assertThat(failures.get(0).reason()).isEqualTo(ConnectFailure.Reason.TIMEOUT);
        assertThat(failures.get(0).detail()).isEqualTo("TLS handshake timed out after 300 ms");
        for (Socket s : held) {
            s.close();
        }
    }

    @Test
    void aPortThatSpeaksNoTlsIsAHandshakeFailure() throws Exception {
        int port = plainServer(socket -> {
            // what an HTTP port answers to a TLS ClientHello
            try (Socket s = socket; OutputStream out = s.getOutputStream()) {
                out.write("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        });
        startReporting(builder().server("127.0.0.1", port));

        await().atMost(WAIT).until(() -> !failures.isEmpty());
        assertThat(failures.get(0).reason()).isEqualTo(ConnectFailure.Reason.TLS_HANDSHAKE);
        assertThat(failures.get(0).detail()).startsWith("TLS handshake failed: ");
    }
}
