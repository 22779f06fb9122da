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

    /** Where {@link #freePort} looks: above the usual services' ports, below the ephemeral range. */
    static final int LOWEST_PORT = 20_000;

    /**
     * A port free now, outside the kernel's ephemeral range: a port the kernel hands out for
     * ephemeral use can be taken by any outgoing connection (tens of thousands of device
     * connections are made here) between this call and the server binding it.
     */
    public static int freePort() {
        int below = ephemeralLow();
        if (below - LOWEST_PORT >= 1_000) {
            java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
            for (int attempt = 0; attempt < 100; attempt++) {
                int port = random.nextInt(LOWEST_PORT, below);
                try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                    return socket.getLocalPort();
                } catch (IOException inUse) {
                    // another one
                }
            }
        }
        // no room below the ephemeral range on this machine: the kernel's choice, as before
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The first port of the kernel's ephemeral range (Linux); 32768, its default, where unreadable. */
    static int ephemeralLow() {
        try {
            String range = new String(java.nio.file.Files.readAllBytes(
                    java.nio.file.Paths.get("/proc/sys/net/ipv4/ip_local_port_range"))).trim();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32_768;
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
