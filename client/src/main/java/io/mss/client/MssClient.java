package io.mss.client;

import io.mss.client.internal.ClientConfig;
import io.mss.client.internal.RealMssClient;
import io.mss.protocol.Frames;

import java.io.Closeable;
import java.io.File;
import java.util.concurrent.Executor;
import javax.net.ssl.X509TrustManager;

/**
 * The MSS client: one long-lived TLS connection to the sync service, per-scope sync points kept
 * in a state directory, and reconnects with backoff.
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
 * }</pre>
 *
 * <h2>Delivery</h2>
 * A message is delivered to its callback at most once per process and never again after it was
 * acked, also across restarts with the same state directory. Acks are cumulative per scope: the
 * sync point only moves over the contiguous prefix of acked messages, so acking id 5 before
 * id 4 stores nothing past 3 until 4 is acked. A message whose callback threw, or that was never
 * acked, holds the sync point back until the process restarts, when it is delivered again.
 *
 * <h2>Threads</h2>
 * <ul>
 *   <li><b>State thread</b>, one per client, named {@code mss-client-state}: a single-threaded
 *       scheduler that owns all mutable state (registered bizTypes, signed-in user, sync points
 *       and acks, the current connection, timers) and does every socket write (Hello, Ack,
 *       Ping). It also writes the state directory. Every public method only posts a task to it
 *       and returns, so they are safe to call from any thread, including from callbacks.
 *   <li><b>Connection thread</b>, one per connection attempt, named
 *       {@code mss-client-reader-N}: calls the {@link TokenProvider}, connects, does the TLS
 *       handshake, then blocks reading frames and hands each decoded frame to the state thread.
 *       Its socket read timeout detects a dead connection: nothing received for 2.5 heartbeat
 *       intervals closes the socket. It exits when the connection ends.
 *   <li><b>Callback executor</b>, by default one thread named {@code mss-client-callback}:
 *       runs {@link MessageCallback} and {@link ConnectionListener} methods. Calls are
 *       serialized per client even when the executor has many threads, so messages of a scope
 *       arrive in ascending id order and never concurrently. A slow callback delays later
 *       callbacks of this client but never the connection or the heartbeat.
 * </ul>
 * All threads are daemon threads.
 *
 * <h2>State directory</h2>
 * Holds {@code syncpoints.properties}, the highest acked id per (bizType, scope, owner), where
 * the owner is the userId for USER scopes and empty otherwise. It is replaced atomically
 * (temp file, fsync, rename) whenever a sync point moves. Use one state directory per client.
 */
public interface MssClient extends Closeable {

    static Builder builder() {
        return new Builder();
    }

    /**
     * Receive the oplogs of {@code bizType} with {@code callback}, replacing a previous callback
     * for it. A new bizType reconnects a live connection so that the server learns about it.
     */
    void registerBiz(String bizType, MessageCallback callback);

    /** Stop receiving {@code bizType}; reconnects a live connection. Its sync points are kept. */
    void unregisterBiz(String bizType);

    /**
     * Acks a delivered message: it is stored and will not be delivered again. Persists the new
     * sync point (when the acked prefix of the scope grew) and then sends an Ack frame; while
     * disconnected, the next Hello carries it.
     */
    void reportMsgReceived(SyncMessage message);

    /**
     * Connect now and keep reconnecting until {@link #appToBackground()} or {@link #close()}.
     * Also resumes after the server refused the client with {@code retry = false}.
     */
    void appToForeground();

    /** Disconnect and stop reconnecting. Acks keep being stored. */
    void appToBackground();

    /**
     * Sign in as {@code userId}: reconnects with a token for that user, and USER scopes now
     * mean that user's timelines.
     */
    void updateUserInfo(String userId);

    /** Sign out: reconnects anonymously; only DEVICE and GLOBAL scopes are delivered. */
    void clearUserInfo();

    /** True between the server's Welcome and the end of that connection. */
    boolean isConnected();

    void addConnectionListener(ConnectionListener listener);

    void removeConnectionListener(ConnectionListener listener);

    /**
     * Disconnects, stores pending sync points and stops the client's threads. Waits a few
     * seconds at most. Messages not yet handed to their callback are dropped (they were not
     * acked, so a later client gets them again).
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

        /** Where sync points are stored; created if missing. One client per directory. */
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
