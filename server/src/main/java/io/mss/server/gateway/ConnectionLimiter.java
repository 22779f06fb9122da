package io.mss.server.gateway;

import io.netty.channel.Channel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Open connections per remote IP address, counted at accept. A connection beyond
 * {@code max-connections-per-ip} is closed right away, before TLS: the protocol has no error
 * code for it and the client could not read one without a TLS handshake, so the refusal is a
 * plain TCP close plus an {@code mss.events} line. Thread-safe: every event loop accepts.
 */
final class ConnectionLimiter {
    private static final Logger events = LoggerFactory.getLogger("mss.events");

    private final int maxPerIp;
    private final ConcurrentHashMap<InetAddress, Integer> open = new ConcurrentHashMap<>();

    ConnectionLimiter(int maxPerIp) {
        this.maxPerIp = maxPerIp;
    }

    /** Counts the channel in, or closes it and returns false. Releases the count when it closes. */
    boolean admit(Channel ch) {
        if (maxPerIp <= 0) {
            return true;
        }
        SocketAddress remote = ch.remoteAddress();
        if (!(remote instanceof InetSocketAddress inet) || inet.getAddress() == null) {
            return true;
        }
        InetAddress ip = inet.getAddress();
        boolean[] admitted = new boolean[1];
        open.compute(ip, (k, count) -> {
            int current = count == null ? 0 : count;
            if (current >= maxPerIp) {
                admitted[0] = false;
                return count;
            }
            admitted[0] = true;
            return current + 1;
        });
        if (!admitted[0]) {
            events.info("refuse remote={} reason=\"too many connections from this IP (max-connections-per-ip={})\"",
                    remote, maxPerIp);
            ch.close();
            return false;
        }
        ch.closeFuture().addListener(f -> open.computeIfPresent(ip, (k, count) -> count <= 1 ? null : count - 1));
        return true;
    }

    /** Open connections counted for this address; for tests and metrics. */
    int openFrom(InetAddress ip) {
        return open.getOrDefault(ip, 0);
    }
}
