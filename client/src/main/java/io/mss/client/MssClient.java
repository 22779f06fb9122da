package io.mss.client;

import io.mss.client.internal.ClientConfig;
import io.mss.client.internal.RealMssClient;
import io.mss.protocol.Frames;

import java.io.Closeable;
import java.io.File;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import javax.net.ssl.X509TrustManager;

/**
 * The MSS client: one long-lived TLS connection to the sync service, a local inbox and per-scope
 * sync points kept in a state directory, reconnects with backoff, and upstream messages to the
 * business backend.
 *
 * <pre>{@code
 * MssClient client = MssClient.builder()
 *         .server("sync.example.com", 7443)
 *         .trustCertificate(new File("ca.pem"))
 *         .deviceId(deviceId)
 *         .tokenProvider((did, uid) -> backend.fetchToken(did, uid))
 *         .stateDir(new File(appFiles, "mss"))
 *         .build();
 * client.registerBiz("notes", m -> { store(m); client.reportMsgReceived(m); });
 * client.updateUserInfo("alice");
 * client.appToForeground();
 * client.sendMessage("notes", "{\"read\":42}").thenAccept(reply -> ...);
 * }</pre>
 *
 * <h2>Delivery: inbox first</h2>
 * Every oplog the server sends is first written to the <b>inbox</b> in the state directory and
 * fsync'd; then its scope's sync point is raised and saved, and only then is the server acked
 * (an {@code Ack} frame, cumulative per scope: the highest id stored). The server's ack therefore
 * means "stored on the device", not "processed by the app". Resends at or below the stored id
 * are discarded.
 *
 * <p>Messages are then dispatched from the inbox to the bizType's {@link MessageCallback}: per
 * scope in ascending id order, one at a time (the next one only after the previous one was acked
 * or dropped); different scopes do not wait for each other. {@link #reportMsgReceived} (or, with
 * {@code autoAck(true)}, a callback that returns normally) marks a message done and removes it
 * from the inbox. Dispatch does not need a connection: after a restart, what is left in the inbox
 * is dispatched as soon as its bizType is registered.
 *
 * <p>Guarantee: at least once into the inbox, ordered per scope, and exactly once to the callback
 * unless the app's process dies inside the callback (or between the callback and its ack): then
 * the callback sees that message again after the restart. A USER-scope message is only ever
 * dispatched while its own user is signed in.
 *
 * <h2>Retries and drops</h2>
 * A callback that throws, or that does not ack within {@link Builder#ackTimeoutMillis} (default
 * 30 s, counted from the moment the callback starts), is dispatched again after a short backoff
 * ({@link Builder#redeliveryBackoff}, default 0.5 s doubling up to 10 s), up to
 * {@link #MAX_DELIVERY_ATTEMPTS} attempts in total. Meanwhile later messages of that scope wait.
 * Then the message is dropped from the inbox and {@link MessageCallback#onMessageDropped} is
 * called with it and the reason. The attempt count is stored in the inbox before each attempt,
 * so an app that crashes inside the callback does not retry that message forever: after 6
 * attempts across any number of restarts it is dropped without a 7th call. An attempt cut short
 * by {@link #close()} before it failed is not counted, nor one that never reached the callback
 * because its user signed out meanwhile. A late ack of an attempt that timed out still counts
 * as the ack.
 *
 * <h2>Unregistered bizTypes</h2>
 * Messages of a bizType without a callback (for example received between
 * {@link #unregisterBiz} and the reconnect that follows, or left from an earlier process) stay
 * in the inbox, acked to the server, until a callback is registered for that bizType; then they
 * are dispatched in order. A {@code FULL_UPDATE} for such a bizType is remembered (in memory) and
 * delivered on registration.
 *
 * <h2>Epochs and FULL_UPDATE</h2>
 * Each sync point is stored with the epoch of the timeline its id belongs to (protocol version
 * 2) and sent with it in every {@code Hello} and {@code Ack}. A {@code FULL_UPDATE} for a gap
 * (trimmed or expired oplogs) is only a signal: the inbox keeps its messages. A {@code FULL_UPDATE}
 * with {@code restart} (the device's position is not on the scope's current timeline), or a
 * stored batch of another epoch than the sync point's, starts the scope over: its undispatched
 * messages are dropped from the inbox, retries of the old timeline's message stop, the sync
 * point becomes {@code (epoch, 0)}, {@link MessageCallback#onFullUpdate(FullUpdate)} is called,
 * and the new timeline's messages follow, whatever their ids. No message of the old timeline
 * reaches a callback after that call. Messages of a non-persistent bizType ({@link
 * SyncMessage#ephemeral()}) are dispatched once, in order, and never stored, retried or acked.
 *
 * <h2>Users</h2>
 * {@link #updateUserInfo(String)} and {@link #updateUserInfo(String, String)} sign a user in:
 * the connection is replaced by one whose token is for that user and whose {@code Hello}
 * carries {@code user_id} (and {@code session_id}, for servers that check the business session
 * through their session webhook instead of a {@code sub} in the token). USER scopes are kept per
 * user: after {@link #clearUserInfo()} and signing in as bob, the USER messages received while
 * alice was signed in are never dispatched to bob; they stay in the inbox and are dispatched
 * when alice signs in again. DEVICE and GLOBAL scopes belong to the install and are dispatched
 * whoever is signed in.
 *
 * <h2>Upstream messages</h2>
 * {@link #sendMessage} sends a message to the bizType's business backend through the server.
 * Each gets a fresh {@code client_msg_id} (a UUID). It is sent at once when connected, otherwise
 * queued (in memory) until the next connection is up; unanswered messages are sent again, with
 * the same id, after every reconnect, and the server answers a repeat with the first answer
 * instead of forwarding it again. The future completes with the server's {@link UpstreamReply}
 * (also when it says {@code success = false}), or fails with an
 * {@link UpstreamTimeoutException} after {@link Builder#upstreamTimeoutMillis} (default 30 s,
 * counted from the call, connection or not), or with an {@link IllegalStateException} when the
 * client is closed first.
 *
 * <h2>Threads</h2>
 * <ul>
 *   <li><b>State thread</b>, one per client, named {@code mss-client-state}: a single-threaded
 *       scheduler that owns all mutable state (registered bizTypes, signed-in user, inbox, sync
 *       points, deliveries in flight and their timers, pending upstream messages, the current
 *       connection) and does every socket write (Hello, Ack, Ping, UpstreamMessage) and every
 *       write to the state directory, fsyncs included. Every public method only posts a task to
 *       it and returns, so they are safe to call from any thread, including from callbacks.
 *   <li><b>Connection thread</b>, one per connection attempt, named
 *       {@code mss-client-reader-N}: calls the {@link TokenProvider}, connects, does the TLS
 *       handshake, then blocks reading frames and hands each decoded frame to the state thread.
 *       Its socket read timeout detects a dead connection: nothing received for 2.5 heartbeat
 *       intervals closes the socket. It exits when the connection ends.
 *   <li><b>Callback executor</b>, by default one thread named {@code mss-client-callback}:
 *       runs {@link MessageCallback} and {@link ConnectionListener} methods, serialized per
 *       client even when the executor has many threads, so they never run concurrently. A slow
 *       callback delays later callbacks of this client but never the connection, the heartbeat
 *       or the inbox. The futures of {@link #sendMessage} are completed on this executor too
 *       (not serialized with the callbacks): compose them with {@code thenAccept} and friends,
 *       and do not block a callback waiting for one, which with a single-threaded executor
 *       would wait forever.
 * </ul>
 * All threads are daemon threads.
 *
 * <h2>State directory</h2>
 * Use one per client; it must not be shared by two clients at a time.
 * <ul>
 *   <li>{@code inbox.log}: the inbox, an append-only log of checksummed records (message stored,
 *       attempt started, message done or dropped), compacted through {@code inbox.log.tmp} and an
 *       atomic rename. A torn last record (a crash during a write) is discarded at the next
 *       start, everything before it is kept.
 *   <li>{@code inbox.journal}: a memory-mapped file of 2 MiB holding the attempt-started and
 *       done records since the log was last written, so that counting an attempt before its
 *       callback costs no system call; the log's next write takes them along.
 *   <li>{@code syncpoints.properties}: the highest stored id per (bizType, scope, owner), where
 *       the owner is the userId for USER scopes and empty otherwise; replaced atomically (temp
 *       file, fsync, rename) whenever a sync point moves. At start it is raised to what the inbox
 *       holds, should a crash have come between the two writes.
 * </ul>
 */
public interface MssClient extends Closeable {
    /** Delivery attempts of one message, across restarts, before it is dropped from the inbox. */
    int MAX_DELIVERY_ATTEMPTS = 6;

    /** The longest payload {@link #sendMessage} accepts, in {@code char}s (as the server counts). */
    int MAX_UPSTREAM_PAYLOAD_CHARS = 4096;

    /**
     * The java.util.logging logger of failed connect attempts (the first of a streak at WARNING,
     * the rest at FINE), apart from {@code io.mss.client}, so that an app that reports them
     * through {@link ConnectionListener#onConnectFailed} can turn it down alone.
     */
    String CONNECT_LOGGER = "io.mss.client.connect";

    static Builder builder() {
        return new Builder();
    }

    /**
     * Receive the oplogs of {@code bizType} with {@code callback}, replacing a previous callback
     * for it. A new bizType reconnects a live connection so that the server learns about it.
     * Messages of this bizType already in the inbox are dispatched now, in order.
     */
    void registerBiz(String bizType, MessageCallback callback);

    /**
     * Stop receiving {@code bizType}; reconnects a live connection. Its sync points are kept, and
     * so are its messages in the inbox (also any that arrive before the reconnect): they are
     * dispatched when a callback is registered again.
     */
    void unregisterBiz(String bizType);

    /**
     * The app is done with a delivered message: it is removed from the inbox, will not be
     * delivered again, and the next message of its scope is dispatched. The server was acked
     * already when the message was stored in the inbox. Also accepted after the ack timeout
     * (while the message waits for its retry). Acking a message the client did not deliver, or
     * one already acked or dropped, is ignored.
     */
    void reportMsgReceived(SyncMessage message);

    /**
     * Connect now and keep reconnecting until {@link #appToBackground()} or {@link #close()}.
     * Also resumes after the server refused the client with {@code retry = false}.
     */
    void appToForeground();

    /** Disconnect and stop reconnecting. Messages in the inbox keep being dispatched. */
    void appToBackground();

    /**
     * Sign in as {@code userId}: reconnects with a token for that user, its Hello carries
     * {@code user_id = userId} and an empty {@code session_id}, and USER scopes now mean that
     * user's timelines. The same as {@code updateUserInfo(userId, "")}.
     */
    void updateUserInfo(String userId);

    /**
     * Sign in as {@code userId} with the business session {@code sessionId}: like
     * {@link #updateUserInfo(String)}, and the Hello also carries {@code session_id}, which a
     * server without a {@code sub} in the token checks with the business backend. A new session
     * id for the same user reconnects too.
     *
     * @param sessionId the app's session with its business backend; may be empty
     */
    void updateUserInfo(String userId, String sessionId);

    /**
     * Sign out: reconnects anonymously; only DEVICE and GLOBAL scopes are dispatched. USER
     * messages already in the inbox stay there for their user.
     */
    void clearUserInfo();

    /**
     * Sends {@code payload} to the business backend of {@code bizType} (its upstream webhook),
     * through the server. Queued while disconnected, sent again with the same client message id
     * after a reconnect until answered. See the class comment.
     *
     * @return completes with the answer, successful or not; fails with
     *     {@link UpstreamTimeoutException} when none came within the upstream timeout, or with
     *     {@link IllegalStateException} when the client is or gets closed first
     * @throws IllegalArgumentException when bizType is empty or the payload is longer than
     *     {@link #MAX_UPSTREAM_PAYLOAD_CHARS}
     */
    CompletableFuture<UpstreamReply> sendMessage(String bizType, String payload);

    /** True between the server's Welcome and the end of that connection. */
    boolean isConnected();

    void addConnectionListener(ConnectionListener listener);

    void removeConnectionListener(ConnectionListener listener);

    /**
     * Disconnects, stores pending sync points, closes the inbox and stops the client's threads.
     * Waits a few seconds at most. Messages not acked yet stay in the inbox for the next client
     * with this state directory; an attempt in progress does not count. Pending upstream
     * messages fail with {@link IllegalStateException}.
     */
    @Override
    void close();

    /** Configures a client; {@code server}, {@code deviceId}, {@code tokenProvider} and {@code stateDir} are required. */
    final class Builder {
        private final ClientConfig config = new ClientConfig();

        Builder() {
        }

        public Builder server(String host, int port) {
            if (host == null || host.isEmpty()) {
                throw new IllegalArgumentException("host is empty");
            }
            if (port <= 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            config.host = host;
            config.port = port;
            return this;
        }

        /**
         * Trust the PEM certificates in this file: a CA, or the server's own (self-signed)
         * certificate. The server's host name is verified against its certificate, as HTTPS does.
         * Without any trust option the platform's default trust store is used.
         */
        public Builder trustCertificate(File pemCaOrServerCert) {
            config.trustPem = requireNonNull(pemCaOrServerCert, "pemCaOrServerCert");
            config.trustManager = null;
            config.insecureTrustAll = false;
            return this;
        }

        /** Verify the server with this trust manager, plus HTTPS-style host name verification. */
        public Builder trustManager(X509TrustManager trustManager) {
            config.trustManager = requireNonNull(trustManager, "trustManager");
            config.trustPem = null;
            config.insecureTrustAll = false;
            return this;
        }

        /** Accept any server certificate and host name. Development only: anyone can intercept. */
        public Builder insecureTrustAll() {
            config.insecureTrustAll = true;
            config.trustPem = null;
            config.trustManager = null;
            return this;
        }

        public Builder deviceId(String deviceId) {
            if (deviceId == null || deviceId.isEmpty()) {
                throw new IllegalArgumentException("deviceId is empty");
            }
            config.deviceId = deviceId;
            return this;
        }

        public Builder tokenProvider(TokenProvider tokenProvider) {
            config.tokenProvider = requireNonNull(tokenProvider, "tokenProvider");
            return this;
        }

        /** Where the inbox and sync points are stored; created if missing. One client per directory. */
        public Builder stateDir(File stateDir) {
            config.stateDir = requireNonNull(stateDir, "stateDir");
            return this;
        }

        /** Runs callbacks and listeners; default: one daemon thread owned by the client. */
        public Builder callbackExecutor(Executor executor) {
            config.callbackExecutor = requireNonNull(executor, "executor");
            return this;
        }

        public Builder osType(String osType) {
            config.osType = requireNonNull(osType, "osType");
            return this;
        }

        public Builder appVersion(String appVersion) {
            config.appVersion = requireNonNull(appVersion, "appVersion");
            return this;
        }

        /** When true, a callback that returns normally acks its message. Default false. */
        public Builder autoAck(boolean autoAck) {
            config.autoAck = autoAck;
            return this;
        }

        /**
         * How long a delivery attempt may take from the start of the callback to the ack before
         * the message is dispatched again (or dropped after {@link MssClient#MAX_DELIVERY_ATTEMPTS}).
         * Default 30 s.
         */
        public Builder ackTimeoutMillis(long millis) {
            if (millis < 1) {
                throw new IllegalArgumentException("ack timeout must be positive: " + millis);
            }
            config.ackTimeoutMillis = millis;
            return this;
        }

        /**
         * Delay before dispatching a message again after a failed attempt: {@code minMillis},
         * doubling per failed attempt up to {@code maxMillis}. Default 500 ms .. 10 s.
         */
        public Builder redeliveryBackoff(long minMillis, long maxMillis) {
            if (minMillis < 1 || maxMillis < minMillis) {
                throw new IllegalArgumentException("need 1 <= minMillis <= maxMillis, got " + minMillis + ", " + maxMillis);
            }
            config.redeliveryMinMillis = minMillis;
            config.redeliveryMaxMillis = maxMillis;
            return this;
        }

        /**
         * How long {@link MssClient#sendMessage} waits for the server's answer, counted from the
         * call, before failing with {@link UpstreamTimeoutException}. Default 30 s.
         */
        public Builder upstreamTimeoutMillis(long millis) {
            if (millis < 1) {
                throw new IllegalArgumentException("upstream timeout must be positive: " + millis);
            }
            config.upstreamTimeoutMillis = millis;
            return this;
        }

        /**
         * Delay before reconnecting: random between {@code minMillis} and a cap that doubles per
         * failed attempt up to {@code maxMillis}, back to {@code minMillis} once a connection got
         * its Welcome. Default 500 ms .. 30 s.
         */
        public Builder reconnectBackoff(long minMillis, long maxMillis) {
            if (minMillis < 1 || maxMillis < minMillis) {
                throw new IllegalArgumentException("need 1 <= minMillis <= maxMillis, got " + minMillis + ", " + maxMillis);
            }
            config.backoffMinMillis = minMillis;
            config.backoffMaxMillis = maxMillis;
            return this;
        }

        /** Limit for TCP connect, TLS handshake and the wait for Welcome. Default 10 s. */
        public Builder connectTimeoutMillis(long millis) {
            if (millis < 1 || millis > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("connect timeout out of range: " + millis);
            }
            config.connectTimeoutMillis = (int) millis;
            return this;
        }

        /** Largest frame accepted from the server. Default {@link Frames#DEFAULT_MAX_FRAME_BYTES}. */
        public Builder maxFrameBytes(int maxFrameBytes) {
            if (maxFrameBytes < 1) {
                throw new IllegalArgumentException("maxFrameBytes must be positive: " + maxFrameBytes);
            }
            config.maxFrameBytes = maxFrameBytes;
            return this;
        }

        /**
         * Creates the client, disconnected; call {@link MssClient#appToForeground()} to connect.
         *
         * @throws IllegalStateException when a required option is missing
         * @throws IllegalArgumentException when the trusted certificate file cannot be read
         * @throws java.io.UncheckedIOException when the state directory cannot be created or read
         */
        public MssClient build() {
            return RealMssClient.create(config.copy());
        }

        private static <T> T requireNonNull(T value, String name) {
            if (value == null) {
                throw new NullPointerException(name);
            }
            return value;
        }
    }
}
