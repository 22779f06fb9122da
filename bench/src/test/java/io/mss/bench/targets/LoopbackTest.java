package io.mss.bench.targets;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoopbackTest {
    @Test
    void freePortsAreOutsideTheEphemeralRangeAndBindable() throws Exception {
        int ephemeralLow = Loopback.ephemeralLow();
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            int port = Loopback.freePort();
            if (ephemeralLow - Loopback.LOWEST_PORT >= 1_000) {
                assertTrue(port >= Loopback.LOWEST_PORT && port < ephemeralLow,
                        port + " is not below the ephemeral range starting at " + ephemeralLow);
            }
            try (ServerSocket bound = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                assertEquals(port, bound.getLocalPort());
            }
            seen.add(port);
        }
        assertTrue(seen.size() > 1, "random ports, not one fixed port: " + seen);
    }
}
