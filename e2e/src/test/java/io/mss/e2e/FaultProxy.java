package io.mss.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP fault proxy for tests: listens on an ephemeral loopback port and forwards every
 * accepted connection to a target port, with blocking sockets and two pump threads per
 * connection. Faults, per connection ({@link Conn}) or for all:
 * <ul>
 *   <li><b>cut</b>: closes both sides (FIN);
 *   <li><b>stall</b>: stops forwarding in one or both directions for a while (what was read is
 *       held, then TCP backpressure builds up);
 *   <li><b>latency</b>: every forwarded chunk waits that long first;
 *   <li><b>reset mid-frame</b>: the next chunk (either direction) is forwarded only in part,
 *       then both sockets are reset (RST, {@code SO_LINGER 0}); without traffic within a second
 *       the reset happens anyway;
 *   <li><b>hold</b> (half-open): nothing is forwarded any more and nothing is closed, also not
 *       when a peer closes its side, until {@link #close()}.
 * </ul>
 * All controls are thread-safe; {@link #close()} closes every socket and ends every thread.
 */
final class FaultProxy implements AutoCloseable {
    enum Direction {
        /** client to server */
        UP,
        /** server to client */
        DOWN,
        BOTH;

        boolean covers(Direction d) {
            return this == BOTH || this == d;
        }
    }

    private final int targetPort;
    private final ServerSocket listener;
    private final List<Conn> connections = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger ids = new AtomicInteger();
    private volatile boolean closed;
    /** applies to every connection, also ones accepted later */
    private volatile long globalLatencyMillis;
    private volatile long globalStallUpUntil;
    private volatile long globalStallDownUntil;
    /** new connections are closed right after accept (like a refused connection) */
    private volatile boolean refuseNew;

    FaultProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "fault-proxy-accept-" + listener.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Connections accepted since start. */
    int accepted() {
        return accepted.get();
    }

    /** Connections not cut, reset or closed (held ones included). */
    List<Conn> open() {
        return connections.stream().filter(c -> !c.done).toList();
    }

    /** Open connections that still forward (not held). */
    List<Conn> forwarding() {
        return connections.stream().filter(c -> !c.done && !c.held).toList();
    }

    void latency(long millis) {
        globalLatencyMillis = millis;
    }

    /** Stalls every connection, also new ones, in {@code direction} for {@code millis}. */
    void stallAll(Direction direction, long millis) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        if (direction.covers(Direction.UP)) {
            globalStallUpUntil = until;
        }
        if (direction.covers(Direction.DOWN)) {
            globalStallDownUntil = until;
        }
    }

    void refuseNew(boolean refuse) {
        refuseNew = refuse;
    }

    void cutAll() {
        open().forEach(Conn::cut);
    }

    void resetAll() {
        open().forEach(Conn::resetMidFrame);
    }

    void holdAll() {
        open().forEach(Conn::hold);
    }

    /** Ends every stall and latency (global and per connection); held connections stay held. */
    void heal() {
        globalLatencyMillis = 0;
        globalStallUpUntil = 0;
        globalStallDownUntil = 0;
        refuseNew = false;
        for (Conn conn : connections) {
            conn.latencyMillis = 0;
            conn.stallUpUntil = 0;
            conn.stallDownUntil = 0;
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            accepted.incrementAndGet();
            if (refuseNew) {
                closeQuietly(client);
                continue;
            }
            Socket server = new Socket();
            try {
                client.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5000);
            } catch (IOException e) {
                closeQuietly(client);
                closeQuietly(server);
                continue;
            }
            Conn conn = new Conn(ids.incrementAndGet(), client, server);
            connections.add(conn);
            connections.removeIf(c -> c.done && !c.held);
            if (closed) {
                conn.closeBoth(false);
            } else {
                conn.start();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(listener);
        for (Conn conn : connections) {
            conn.held = false;
            conn.closeBoth(false);
        }
        connections.clear();
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    /** One proxied connection. */
    final class Conn {
        final int id;
        private final Socket client;
        private final Socket server;
        volatile long latencyMillis;
        volatile long stallUpUntil;
        volatile long stallDownUntil;
        volatile boolean held;
        private final java.util.concurrent.atomic.AtomicBoolean resetPending = new java.util.concurrent.atomic.AtomicBoolean();
        volatile boolean done;

        Conn(int id, Socket client, Socket server) {
            this.id = id;
            this.client = client;
            this.server = server;
        }

        void start() {
            for (Direction d : new Direction[]{Direction.UP, Direction.DOWN}) {
                Thread pump = new Thread(() -> pump(d), "fault-proxy-" + id + "-" + d);
                pump.setDaemon(true);
                pump.start();
            }
        }

        void cut() {
            closeBoth(false);
        }

        void stall(Direction direction, long millis) {
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            if (direction.covers(Direction.UP)) {
                stallUpUntil = until;
            }
            if (direction.covers(Direction.DOWN)) {
                stallDownUntil = until;
            }
        }

        void latency(long millis) {
            latencyMillis = millis;
        }

        void hold() {
            held = true;
        }

        /** Forwards part of the next chunk, then resets both sides; after 1 s without traffic, resets anyway. */
        void resetMidFrame() {
            resetPending.set(true);
            Thread fallback = new Thread(() -> {
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
                if (resetPending.compareAndSet(true, false) && !done) {
                    closeBoth(true);
                }
            }, "fault-proxy-reset-" + id);
            fallback.setDaemon(true);
            fallback.start();
        }

        private synchronized void closeBoth(boolean rst) {
            if (done) {
                return;
            }
            done = true;
            for (Socket s : new Socket[]{client, server}) {
                try {
                    if (rst) {
                        s.setSoLinger(true, 0);
                    }
                } catch (IOException ignored) {
                    // already closed
                }
                closeQuietly(s);
            }
        }

        private boolean stalled(Direction d) {
            long now = System.nanoTime();
            long until = d == Direction.UP ? Math.max(stallUpUntil, globalStallUpUntil)
                    : Math.max(stallDownUntil, globalStallDownUntil);
            return until != 0 && now - until < 0;
        }

        private void pump(Direction d) {
            byte[] buf = new byte[16 * 1024];
            try {
                InputStream in = (d == Direction.UP ? client : server).getInputStream();
                OutputStream out = (d == Direction.UP ? server : client).getOutputStream();
                while (!closed) {
                    int n;
                    try {
                        n = in.read(buf);
                    } catch (IOException e) {
                        n = -1;
                    }
                    if (n < 0) {
                        // a peer closed (or reset) its side: propagate, unless the connection is held
                        waitWhileHeld();
                        closeBoth(false);
                        return;
                    }
                    while (!closed && !done && (held || stalled(d))) {
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                    }
                    long delay = Math.max(latencyMillis, globalLatencyMillis);
                    if (delay > 0) {
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(delay));
                    }
                    if (done || closed) {
                        return;
                    }
                    if (held) {
                        continue;
                    }
                    if (resetPending.compareAndSet(true, false)) {
                        out.write(buf, 0, Math.max(1, n / 2));
                        out.flush();
                        closeBoth(true);
                        return;
                    }
                    out.write(buf, 0, n);
                }
            } catch (IOException e) {
                waitWhileHeld();
                closeBoth(false);
            }
        }

        private void waitWhileHeld() {
            while (held && !closed) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
        }
    }
}
