package io.mss.cli;

/**
 * The JVM options a server starts with unless {@code MSS_SERVER_GC_OPTS} says otherwise: set by the
 * launchers ({@code ./mss}, the distribution's {@code bin/mss}) before the JVM starts, and by
 * {@code ./mss bench} for the server it measures, so the benchmark measures what ships.
 *
 * <p>Why: a server that has just taken tens of thousands of TLS handshakes has grown its heap for
 * them; G1 keeps that memory committed, and the process's RSS with it, long after the connections
 * went idle (18,000 idle connections held 16–18 KB of RSS each against 4.6 KB of live heap). A
 * periodic collection after 10 s without one lets G1 give back what is free beyond 30 %.
 */
public final class ServerJvmOptions {
    /** Kept word for word in both launcher scripts; {@code ServerJvmOptionsTest} checks it. */
    public static final String DEFAULT =
            "-XX:+UseG1GC -XX:G1PeriodicGCInterval=10000 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30";

    private ServerJvmOptions() {
    }
}
