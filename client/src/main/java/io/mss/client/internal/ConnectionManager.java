package io.mss.client.internal;

import io.mss.client.ConnectFailure;
import io.mss.client.internal.proto.ClientFrame;
import io.mss.client.internal.proto.Hello;
import io.mss.client.internal.proto.Ping;
import io.mss.client.internal.proto.Welcome;

import java.util.ArrayList;
import java.util.Objects;
import java.util.concurrent.ScheduledFuture;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one connection the client wants, or the timer for the next attempt: connects while the app
 * is in the foreground, reconnects after capped, jittered backoff ({@link Backoff}), sends the
 * Hello the {@link Session} builds, takes the Welcome, pings, and tells the app's
 * listeners ({@link ConnectionListeners}). At most one of {@code current} and
 * {@code reconnectTask} is set.
 * State thread only, except {@link #isConnected}.
 */
final class ConnectionManager implements ConnectionControl {
    /** When the server's Welcome leaves the heartbeat interval at 0. */
    static final long DEFAULT_HEARTBEAT_MILLIS = 30_000;

    private static final Logger LOG = Logger.getLogger("io.mss.client");

    /** What the rest of the client adds to a session. State thread. */
    interface Session {
        /** Fills in the bizTypes, the user's session id and the sync points of the Hello for {@code c}. */
        void hello(Connection c, Hello.Builder hello);

        /** The Welcome came: send what waited for a session. */
        void welcomed(Connection c);

        /** The reader queued frames on {@code c}. */
        void framesQueued(Connection c);

        /** {@code c} is no longer the current connection: whatever paused for it is reset. */
        void ended(Connection c);
    }

    private final StateLoop loop;
    private final ClientConfig config;
    private final Tls tls;
    private final Backoff backoff;
    private final BooleanSupplier closing;
    private final Session session;
    private final ConnectionListeners listeners;
    private final Connection.Events events = new Events();
    private volatile boolean connected;
    // state thread
    private boolean foreground;
    /** The server refused us with retry = false: wait for the app to act. */
    private boolean halted;
    private int connectionCount;
    /** Connect attempts that failed in a row since the last Welcome (or stop): the first one warns. */
    private int failedAttempts;
    private Connection current;
    private ScheduledFuture<?> reconnectTask;
    private ScheduledFuture<?> pingTask;
    /** The user the next attempt requests its token for. */
    private String userForNextAttempt;

    ConnectionManager(StateLoop loop, ClientConfig config, Tls tls, Backoff backoff, BooleanSupplier closing,
                      Session session) {
        this.loop = loop;
        this.config = config;
        this.tls = tls;
        this.backoff = backoff;
        this.closing = closing;
        this.session = session;
        this.listeners = new ConnectionListeners(loop);
    }

    boolean isConnected() {
        return connected;
    }

    ConnectionListeners listeners() {
        return listeners;
    }

    /** The connection frames are taken from, or null. */
    @Override
    public Connection current() {
        loop.checkThread();
        return current;
    }

    /** The current connection once its Welcome came, else null. */
    Connection welcomed() {
        loop.checkThread();
        return current != null && current.welcomed ? current : null;
    }

    void foreground() {
        loop.checkThread();
        foreground = true;
        halted = false;
        ensureConnecting();
    }

    void background(String reason) {
        loop.checkThread();
        foreground = false;
        stop(reason);
    }

    /** A different user means a different token, which may fix what made the server refuse us. */
    void unhalt() {
        loop.checkThread();
        halted = false;
    }

    private boolean wantConnection() {
        // read live: tasks queued before the close task must not start new connections either
        return foreground && !halted && !closing.getAsBoolean();
    }

    void ensureConnecting() {
        loop.checkThread();
        if (wantConnection() && current == null && reconnectTask == null) {
            startAttempt();
        }
    }

    private void startAttempt() {
        cancelReconnect();
        Connection c = new Connection(++connectionCount, userForNextAttempt, config, tls, events);
        current = c;
        if (LOG.isLoggable(Level.FINE)) {
            LOG.fine("connecting to " + config.host + ':' + config.port + " (" + c + ")");
        }
        c.start();
    }

    /** The signed-in user changed: the next attempt requests its token for {@code userId}. */
    void user(String userId) {
        loop.checkThread();
        userForNextAttempt = userId;
    }

    /** @return the delay before the next attempt, or -1 when none was scheduled (closing) */
    private long scheduleReconnect() {
        long delay = backoff.nextDelayMillis();
        if (LOG.isLoggable(Level.FINE)) {
            LOG.fine("reconnecting in " + delay + " ms");
        }
        reconnectTask = loop.schedule(() -> {
            reconnectTask = null;
            ensureConnecting();
        }, delay);
        return reconnectTask == null ? -1 : delay;
    }

    private void cancelReconnect() {
        if (reconnectTask != null) {
            reconnectTask.cancel(false);
            reconnectTask = null;
        }
    }

    /**
     * Replaces the current connection when what it told the server no longer matches the
     * registered bizTypes or the user. An attempt that has not sent its Hello yet is kept: the
     * Hello is built from the state at that moment, so a burst of registerBiz calls costs at
     * most one reconnect. Only a token fetched for another user makes such an attempt stale.
     */
    void reconnectNow(String reason) {
        loop.checkThread();
        Connection c = current;
        if (c == null || (!c.helloSent && Objects.equals(c.userId, userForNextAttempt))) {
            return;
        }
        teardown(c);
        boolean again = wantConnection();
        if (c.welcomed) {
            listeners.disconnected(reason, again);
        }
        if (again) {
            startAttempt();
        }
    }

    void stop(String reason) {
        loop.checkThread();
        cancelReconnect();
        failedAttempts = 0;
        Connection c = current;
        if (c != null) {
            teardown(c);
            if (c.welcomed) {
                listeners.disconnected(reason, false);
            }
        }
    }

    private void teardown(Connection c) {
        current = null;
        connected = false;
        if (pingTask != null) {
            pingTask.cancel(false);
            pingTask = null;
        }
        c.abort();
        session.ended(c);
    }

    /** Queues a frame; a full or closed writer ends the connection. */
    void send(Connection c, ClientFrame frame) {
        loop.checkThread();
        try {
            c.send(frame);
        } catch (java.io.IOException e) {
            lost(c, "write failed: " + e, false);
        }
    }

    @Override
    public void lost(Connection c, String reason, boolean fatal) {
        lost(c, reason, fatal, ConnectFailure.Reason.OTHER, reason, null, null);
    }

    /** The server said no; with retry = false the client waits for the app to act. */
    @Override
    public void refused(Connection c, String reason, boolean retry, String serverErrorCode) {
        loop.checkThread();
        if (!retry) {
            halted = true;
        }
        // the server closes right after an Error; close first so its EOF is not a second event
        lost(c, reason, !retry, ConnectFailure.Reason.SERVER_ERROR, reason, serverErrorCode, null);
    }

    /** kind, detail, serverErrorCode and cause are what an attempt that never got its Welcome reports. */
    private void lost(Connection c, String reason, boolean fatal, ConnectFailure.Reason kind, String detail,
                      String serverErrorCode, Throwable cause) {
        loop.checkThread();
        if (c != current) {
            // an attempt we already replaced or stopped reporting its end
            return;
        }
        teardown(c);
        boolean willRetry = wantConnection();
        long delay = willRetry ? scheduleReconnect() : -1;
        if (c.welcomed) {
            if (LOG.isLoggable(Level.INFO)) {
                LOG.info(c + " ended: " + reason + (willRetry ? "; will reconnect" : ""));
            }
        } else {
            listeners.connectFailed(new ConnectFailure(kind, detail, config.host, config.port, serverErrorCode,
                    willRetry && delay >= 0, delay, ++failedAttempts, cause));
        }
        if (c.welcomed || fatal) {
            listeners.disconnected(reason, willRetry);
        }
    }

    private void opened(Connection c, String token) {
        loop.checkThread();
        if (c != current) {
            c.abort();
            return;
        }
        // c.userId is the current user: an attempt for another one was replaced before its Hello
        Hello.Builder hello = Hello.newBuilder()
                .setMinVersion(io.mss.protocol.ProtocolVersion.MIN)
                .setMaxVersion(io.mss.protocol.ProtocolVersion.MAX)
                .setToken(token)
                .setDeviceId(config.deviceId)
                .setOsType(config.osType)
                .setAppVersion(config.appVersion)
                .setUserId(c.userId == null ? "" : c.userId);
        session.hello(c, hello);
        c.helloSent = true;
        send(c, ClientFrame.newBuilder().setHello(hello).build());
    }

    /** The server accepted the Hello. */
    @Override
    public void welcomed(Connection c, Welcome w) {
        loop.checkThread();
        if (c.welcomed) {
            return;
        }
        c.welcomed = true;
        c.version = Math.max(w.getVersion(), io.mss.protocol.ProtocolVersion.MIN);
        c.sessionId = w.getSessionId();
        c.sessionUserId = w.getUserId().isEmpty() ? null : w.getUserId();
        if (!Objects.equals(c.sessionUserId, c.userId)) {
            LOG.warning("the token is for user " + c.sessionUserId + " but the client is signed in as " + c.userId
                    + "; USER messages are filed under the token's user");
        }
        if (w.getUnknownBizTypesCount() > 0) {
            LOG.warning("the server does not know bizTypes " + w.getUnknownBizTypesList());
        }
        backoff.reset();
        failedAttempts = 0;
        connected = true;
        long heartbeat = heartbeatMillis(w);
        pingTask = loop.scheduleAtFixedRate(() -> ping(c), heartbeat);
        if (pingTask == null) {
            return;
        }
        if (LOG.isLoggable(Level.INFO)) {
            LOG.info("connected to " + config.host + ':' + config.port + ", session " + c.sessionId);
        }
        listeners.connected(c.sessionId);
        if (w.getUnknownBizTypesCount() > 0) {
            listeners.unknownBizTypes(new ArrayList<>(w.getUnknownBizTypesList()));
        }
        session.welcomed(c);
    }

    static long heartbeatMillis(Welcome w) {
        long ms = w.getHeartbeatIntervalMs() & 0xFFFFFFFFL;
        return ms > 0 ? ms : DEFAULT_HEARTBEAT_MILLIS;
    }

    private void ping(Connection c) {
        if (c == current) {
            send(c, ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(System.currentTimeMillis()))
                    .build());
        }
    }

    /** Hands connection-thread events to the state thread. */
    private final class Events implements Connection.Events {
        @Override
        public void onOpen(Connection c, String token) {
            loop.post(() -> opened(c, token));
        }

        @Override
        public void onFrame(Connection c) {
            loop.post(() -> session.framesQueued(c));
        }

        @Override
        public void onClosed(Connection c, String reason) {
            // read here, on the connection thread that wrote them
            ConnectFailure.Reason kind = c.failureReason;
            String detail = c.failureDetail != null ? c.failureDetail : reason;
            Throwable cause = c.failureCause;
            loop.post(() -> lost(c, reason, false, kind, detail, null, cause));
        }
    }
}
