package io.mss.client.internal;

import io.mss.client.ConnectFailure;
import io.mss.protocol.FrameTooLargeException;
import io.mss.protocol.Frames;
import io.mss.client.internal.proto.ClientFrame;
import io.mss.client.internal.proto.ServerFrame;

import com.google.protobuf.InvalidProtocolBufferException;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.concurrent.ArrayBlockingQueue;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;

/**
 * One connection attempt and, if it succeeds, the connection.
 *
 * <p>Threads: its reader thread gets the token, connects, handshakes and then reads frames into
 * {@link #inbound}, a bounded queue the state thread takes them from; when the state thread stops
 * taking (the app is behind), the reader blocks, stops reading the socket, and TCP backpressure
 * slows the server's sends. Writes go through a {@link FrameWriter} and its own thread, so the
 * state thread never blocks on the socket. The state thread reads and writes the fields marked
 * "state thread"; the reader sets the failure fields before {@link Events#onClosed}, which
 * hands them to the state thread.
 */
final class Connection implements Runnable {
    /** Called on the connection thread; implementations hand over to the state thread. */
    interface Events {
        void onOpen(Connection c, String token);

        /** A frame was added to {@link #inbound}. */
        void onFrame(Connection c);

        void onClosed(Connection c, String reason);
    }

    /**
     * Frames read but not yet taken by the state thread. Small: each frame is at most
     * maxFrameBytes, and a full queue is what makes the reader stop reading.
     */
    static final int INBOUND_FRAMES = 4;

    /** A frame as read, with its size on the wire (what the state thread budgets, without computing it again). */
    static final class Inbound {
        final ServerFrame frame;
        final int wireBytes;

        Inbound(ServerFrame frame, int wireBytes) {
            this.frame = frame;
            this.wireBytes = wireBytes;
        }
    }

    final int id;
    /** Reader puts, state thread takes. */
    final ArrayBlockingQueue<Inbound> inbound = new ArrayBlockingQueue<>(INBOUND_FRAMES);
    /** The user the token was requested for and the Hello's USER sync points belong to. */
    final String userId;

    private final ClientConfig config;
    private final Tls tls;
    private final Events events;

    // state thread
    boolean helloSent;
    boolean welcomed;
    /** The protocol version the server chose in its Welcome; epochs need {@code ProtocolVersion.EPOCHS}. */
    int version;
    String sessionId;
    /** The user the server says this session is for (the token's sub); owns USER batches. */
    String sessionUserId;

    /** Connection thread only: why it ended, when before Welcome; the Events implementation reads them in onClosed. */
    ConnectFailure.Reason failureReason = ConnectFailure.Reason.OTHER;
    String failureDetail;
    Throwable failureCause;

    /** Where the connection thread is, so that a timeout or an I/O error can say what it interrupted. */
    private enum Stage { TOKEN, CONNECT, HANDSHAKE, WELCOME, OPEN }

    /** Connection thread only. */
    private Stage stage = Stage.TOKEN;

    private final Object lock = new Object();
    private Socket raw;
    /** The connection thread is inside {@code Socket.connect}: see {@link #close}. Guarded by lock. */
    private boolean connecting;
    private boolean aborted;
    private volatile FrameWriter writer;

    Connection(int id, String userId, ClientConfig config, Tls tls, Events events) {
        this.id = id;
        this.userId = userId;
        this.config = config;
        this.tls = tls;
        this.events = events;
    }

    void start() {
        Thread t = new Thread(this, "mss-client-reader-" + id);
        t.setDaemon(true);
        t.start();
    }

    /** Queues one frame for the writer thread; never blocks. */
    void send(ClientFrame frame) throws IOException {
        FrameWriter w = writer;
        if (w == null) {
            throw new IOException("connection is not open");
        }
        if (!w.enqueue(frame)) {
            throw new IOException("the writer queue is closed or full (" + w.queuedBytes() + " bytes): the server"
                    + " is not reading");
        }
    }

    /**
     * Ends the connection from any thread, dropping the frames not yet taken: the state thread
     * calls it when it is done with this connection.
     */
    void abort() {
        close();
        // a reader blocked on a full queue gets its place, sees aborted and ends
        inbound.clear();
    }

    /**
     * Closes the plain TCP socket under the TLS layer: that unblocks a reader or writer at once,
     * where closing the SSLSocket might itself block trying to send close_notify. The frames
     * already read stay queued: an Error right before the server's close must still be seen.
     */
    private void close() {
        Socket s;
        synchronized (lock) {
            aborted = true;
            // a socket closed while another thread is inside connect can stay open, connected and
            // unreferenced (seen on JDK 17: the server's end never saw the close, and a test
            // server handshaking one connection at a time hung on it); the connecting thread
            // closes it itself once connect returns
            s = connecting ? null : raw;
        }
        FrameWriter w = writer;
        if (w != null) {
            w.close();
        }
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing is best effort; the socket is unusable either way
            }
        }
    }

    @Override
    public void run() {
        String reason;
        try {
            reason = connectAndRead();
        } catch (SocketTimeoutException e) {
            reason = classify(e);
        } catch (FrameTooLargeException e) {
            reason = fail(ConnectFailure.Reason.OTHER, "server sent a frame too large: " + e.getMessage(), e);
        } catch (InvalidProtocolBufferException e) {
            reason = fail(ConnectFailure.Reason.OTHER, "server sent an undecodable frame: " + e.getMessage(), e);
        } catch (Throwable e) {
            // whatever went wrong, the state thread must hear that this connection is over
            reason = classify(e);
        } finally {
            close();
        }
        events.onClosed(this, reason);
    }

    private String fail(ConnectFailure.Reason reason, String detail, Throwable cause) {
        failureReason = reason;
        failureDetail = detail;
        failureCause = cause;
        return detail;
    }

    /** Names what failed in the words a person needs to fix it. */
    private String classify(Throwable e) {
        Stage at = stage;
        if (e instanceof SocketTimeoutException) {
            switch (at) {
                case CONNECT:
                    return fail(ConnectFailure.Reason.TIMEOUT, "connect timed out after " + config.connectTimeoutMillis
                            + " ms", e);
                case HANDSHAKE:
                    return fail(ConnectFailure.Reason.TIMEOUT, "TLS handshake timed out after "
                            + config.connectTimeoutMillis + " ms", e);
                default:
                    return fail(ConnectFailure.Reason.TIMEOUT, "read timed out", e);
            }
        }
        if (e instanceof UnknownHostException) {
            return fail(ConnectFailure.Reason.UNKNOWN_HOST, "unknown host " + config.host, e);
        }
        if (e instanceof ConnectException) {
            String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
            if (m.contains("refused")) {
                return fail(ConnectFailure.Reason.REFUSED, "connection refused", e);
            }
            if (m.contains("timed out")) {
                return fail(ConnectFailure.Reason.TIMEOUT, "connect timed out", e);
            }
            return fail(ConnectFailure.Reason.OTHER, "cannot connect: " + e.getMessage(), e);
        }
        if (at == Stage.HANDSHAKE) {
            Throwable trust = certificateProblem(e);
            if (trust != null) {
                return fail(ConnectFailure.Reason.TLS_TRUST, "certificate not trusted: " + trust.getMessage(), e);
            }
            if (e instanceof SSLException) {
                return fail(ConnectFailure.Reason.TLS_HANDSHAKE, "TLS handshake failed: " + e.getMessage(), e);
            }
            return fail(ConnectFailure.Reason.TLS_HANDSHAKE, "TLS handshake failed: " + e, e);
        }
        return fail(ConnectFailure.Reason.OTHER, e.toString(), e);
    }

    /** The JDK reports an untrusted chain or a host name mismatch as a CertificateException cause. */
    private static Throwable certificateProblem(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateException) {
                return t;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }

    private String connectAndRead() throws IOException {
        String token;
        try {
            token = config.tokenProvider.token(config.deviceId, userId);
        } catch (Exception e) {
            return fail(ConnectFailure.Reason.TOKEN_PROVIDER, "token provider failed: " + e, e);
        }
        if (token == null) {
            return fail(ConnectFailure.Reason.TOKEN_PROVIDER, "token provider returned null", null);
        }
        stage = Stage.CONNECT;
        // resolved here, outside the window in which an abort leaves the closing to this thread
        InetSocketAddress address = new InetSocketAddress(config.host, config.port);
        Socket socket = new Socket();
        synchronized (lock) {
            if (aborted) {
                return "aborted";
            }
            raw = socket;
            connecting = true;
        }
        try {
            socket.connect(address, config.connectTimeoutMillis);
        } finally {
            synchronized (lock) {
                connecting = false;
            }
        }
        if (isAborted()) {
            // aborted during connect, which left the closing to this thread
            return "aborted";
        }
        socket.setTcpNoDelay(true);
        // bounds the TLS handshake and the wait for Welcome; the heartbeat bound replaces it later
        socket.setSoTimeout(config.connectTimeoutMillis);
        stage = Stage.HANDSHAKE;
        SSLSocket ssl = (SSLSocket) tls.factory.createSocket(socket, config.host, config.port, true);
        tls.handshake(ssl);
        stage = Stage.WELCOME;
        FrameWriter w = new FrameWriter(new BufferedOutputStream(ssl.getOutputStream(), 8 * 1024), this::abort);
        writer = w;
        synchronized (lock) {
            if (aborted) {
                return "aborted";
            }
        }
        w.start(id);
        InputStream in = new BufferedInputStream(ssl.getInputStream());
        events.onOpen(this, token);

        boolean sawWelcome = false;
        long idleMillis = 0;
        while (true) {
            byte[] body;
            try {
                body = Frames.read(in, config.maxFrameBytes);
            } catch (SocketTimeoutException e) {
                return sawWelcome
                        ? "heartbeat timeout: nothing received for " + idleMillis + " ms"
                        : fail(ConnectFailure.Reason.TIMEOUT, "no Welcome within " + config.connectTimeoutMillis + " ms", e);
            }
            if (body == null) {
                return sawWelcome ? "connection closed by server"
                        : fail(ConnectFailure.Reason.CLOSED, "connection closed by server before its Welcome", null);
            }
            ServerFrame frame = ServerFrame.parseFrom(body);
            if (frame.hasWelcome() && !sawWelcome) {
                sawWelcome = true;
                stage = Stage.OPEN;
                idleMillis = ConnectionManager.heartbeatMillis(frame.getWelcome()) * 5 / 2;
                // the read timeout is the dead-peer detector: any frame, Pong or data, resets it
                socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, idleMillis));
            }
            try {
                inbound.put(new Inbound(frame, body.length));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
            if (isAborted()) {
                return "aborted";
            }
            events.onFrame(this);
        }
    }

    private boolean isAborted() {
        synchronized (lock) {
            return aborted;
        }
    }

    @Override
    public String toString() {
        return "connection " + id;
    }
}
