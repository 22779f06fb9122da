package io.mss.bench.targets;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;

/**
 * Free ports and the loopback source addresses device connections are spread across
 * (127.0.0.2 .. 127.0.0.9), so the ephemeral port range of one source address is never the limit.
 */
public final class Loopback {
    public static final int SOURCE_ADDRESSES = 8;

    private Loopback() {
    }

    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The local address for the n-th device connection, port chosen by the kernel. */
    public static InetSocketAddress source(int n) {
        try {
            byte[] ip = {127, 0, 0, (byte) (2 + Math.floorMod(n, SOURCE_ADDRESSES))};
            return new InetSocketAddress(InetAddress.getByAddress(ip), 0);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
