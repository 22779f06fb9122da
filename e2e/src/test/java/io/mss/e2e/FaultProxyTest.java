package io.mss.e2e;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** {@link FaultProxy} in front of a plain echo server: each fault does what it says. */
class FaultProxyTest {
    private ServerSocket echo;
    private final List<Socket> echoSides = new CopyOnWriteArrayList<>();
    private FaultProxy proxy;

    @BeforeEach
    void start() throws IOException {
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(() -> {
            while (true) {
                try {
                    Socket s = echo.accept();
                    echoSides.add(s);
                    Thread t = new Thread(() -> {
                        try (s) {
                            s.getInputStream().transferTo(s.getOutputStream());
                        } catch (IOException ignored) {
                            // reset or closed
                        }
                    });
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        proxy = new FaultProxy(echo.getLocalPort());
    }

    @AfterEach
    void stop() throws IOException {
        proxy.close();
        echo.close();
        for (Socket s : echoSides) {
            s.close();
        }
    }

    private Socket connect() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
        s.setSoTimeout(3000);
        s.setTcpNoDelay(true);
        await().atMost(Duration.ofSeconds(2)).until(() -> proxy.open().size() == proxy.accepted());
        return s;
    }

    private static long roundTripMillis(Socket s, int bytes) throws IOException {
        long start = System.nanoTime();
        s.getOutputStream().write(new byte[bytes]);
        InputStream in = s.getInputStream();
        int got = 0;
        byte[] buf = new byte[bytes];
        while (got < bytes) {
            int n = in.read(buf, 0, bytes - got);
            if (n < 0) {
                throw new IOException("EOF after " + got);
            }
            got += n;
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    @Test
    void forwardsAddsLatencyAndStalls() throws IOException {
        try (Socket s = connect()) {
            assertThat(roundTripMillis(s, 100)).isLessThan(1000);
            FaultProxy.Conn conn = proxy.open().get(0);
            conn.latency(150);
            assertThat(roundTripMillis(s, 10)).isGreaterThanOrEqualTo(290); // both directions
            conn.latency(0);
            conn.stall(FaultProxy.Direction.DOWN, 600);
            assertThat(roundTripMillis(s, 10)).isGreaterThanOrEqualTo(500);
            proxy.stallAll(FaultProxy.Direction.UP, 400);
            assertThat(roundTripMillis(s, 10)).isGreaterThanOrEqualTo(300);
            assertThat(roundTripMillis(s, 10)).isLessThan(300);
        }
    }

    @Test
    void cutClosesTheClientSide() throws IOException {
        try (Socket s = connect()) {
            proxy.open().get(0).cut();
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void resetMidFrameForwardsPartThenResets() throws IOException {
        try (Socket s = connect()) {
            proxy.open().get(0).resetMidFrame();
            s.getOutputStream().write(new byte[1000]);
            int got = 0;
            InputStream in = s.getInputStream();
            byte[] buf = new byte[2000];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    got += n;
                }
                throw new AssertionError("EOF instead of a reset after " + got + " bytes");
            } catch (SocketException expected) {
                assertThat(expected.getMessage()).containsIgnoringCase("reset");
            }
            assertThat(got).isLessThan(1000);
        }
    }

    @Test
    void holdKeepsTheSocketOpenAndSilentEvenWhenThePeerCloses() throws Exception {
        try (Socket s = connect()) {
            proxy.holdAll();
            s.getOutputStream().write(new byte[10]);
            for (Socket side : echoSides) {
                side.close(); // the server goes away
            }
            s.setSoTimeout(700);
            assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            assertThat(proxy.open()).hasSize(1);
            proxy.refuseNew(true);
            try (Socket refused = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
                refused.setSoTimeout(2000);
                assertThat(refused.getInputStream().read()).isEqualTo(-1);
            }
        }
    }
}
