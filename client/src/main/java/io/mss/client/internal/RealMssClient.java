package io.mss.client.internal;

import io.mss.client.ConnectionListener;
import io.mss.client.MessageCallback;
import io.mss.client.MssClient;
import io.mss.client.Scope;
import io.mss.client.SyncMessage;
import io.mss.client.UpstreamReply;
import io.mss.client.UpstreamTimeoutException;
import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.BizBatch;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.Command;
import io.mss.protocol.v1.CommandType;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.Ping;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncData;
import io.mss.protocol.v1.SyncPoint;
import io.mss.protocol.v1.UpstreamMessage;
import io.mss.protocol.v1.UpstreamResult;
import io.mss.protocol.v1.Welcome;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The client. See {@link MssClient} for the threading model: every field below the marker is
 * confined to the state thread, which is why none of it is synchronized.
 */
public final class RealMssClient implements MssClient {
    /** When the server's Welcome leaves the heartbeat interval at 0. */
    static final long DEFAULT_HEARTBEAT_MILLIS = 30_000;
    private static final long SAVE_RETRY_MILLIS = 1_000;
    private static final long CLOSE_WAIT_MILLIS = 5_000;

    private static final Logger LOG = Logger.getLogger("io.mss.client");

    private final ClientConfig config;
    private final Tls tls;
    private final ScheduledThreadPoolExecutor stateExecutor;
    private volatile Thread stateThread;
    /** Null when the app supplied its own executor: that one is not ours to shut down. */
    private final ExecutorService ownedCallbackExecutor;
    private final SerialExecutor callbacks;
    private final Connection.Events events = new ConnectionEvents();
    private final CopyOnWriteArrayList<ConnectionListener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicBoolean closeCalled = new AtomicBoolean();
    private volatile boolean connected;

    // ---- state thread only ----
    private final SyncPointStore store;
    private final AckTracker acks;
    private final Backoff backoff;
    private final TreeMap<String, MessageCallback> bizCallbacks = new TreeMap<>();
    /** Scopes whose sync point moved since the current connection's Hello. */
    private final Set<ScopeKey> unsentAcks = new HashSet<>();
    private String userId;
    private boolean foreground;
    /** The server refused us with retry = false: wait for the app to act. */
    private boolean halted;
    private int connectionCount;
    /** At most one of current and reconnectTask is set. */
    private Connection current;
    private ScheduledFuture<?> reconnectTask;
    private ScheduledFuture<?> pingTask;
    private ScheduledFuture<?> saveRetryTask;
    private boolean storeDirty;
    private boolean flushQueued;

    private RealMssClient(ClientConfig config, Tls tls, SyncPointStore store, Random random) {
        this.config = config;
        this.tls = tls;
        this.store = store;
        this.acks = new AckTracker(store);
        this.backoff = new Backoff(config.backoffMinMillis, config.backoffMaxMillis, random);
        this.stateExecutor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "mss-client-state");
            t.setDaemon(true);
            stateThread = t;
            return t;
        });
        // cancelled reconnect and ping timers would otherwise sit in the queue until due
        stateExecutor.setRemoveOnCancelPolicy(true);
        Executor callbackExecutor = config.callbackExecutor;
        if (callbackExecutor == null) {
            ownedCallbackExecutor = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "mss-client-callback");
                t.setDaemon(true);
                return t;
            });
            callbackExecutor = ownedCallbackExecutor;
        } else {
            ownedCallbackExecutor = null;
        }
        this.callbacks = new SerialExecutor(callbackExecutor);
    }

    /** Validates the config, sets up TLS trust and loads the state directory. */
    public static MssClient create(ClientConfig config) {
        config.validate();
        Tls tls = Tls.from(config);
        SyncPointStore store;
        try {
            store = SyncPointStore.open(config.stateDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open state directory " + config.stateDir, e);
        }
        return new RealMssClient(config, tls, store, new Random());
    }

    // ---- public API: validate on the caller's thread, then hand over ----

    @Override
    public void registerBiz(String bizType, MessageCallback callback) {
        requireBizType(bizType);
        Objects.requireNonNull(callback, "callback");
        post(() -> {
            if (bizCallbacks.put(bizType, callback) == null) {
                reconnectNow("registered bizType " + bizType);
            }
        });
    }

    @Override
    public void unregisterBiz(String bizType) {
        requireBizType(bizType);
        post(() -> {
            if (bizCallbacks.remove(bizType) != null) {
                reconnectNow("unregistered bizType " + bizType);
            }
        });
    }

    @Override
    public void reportMsgReceived(SyncMessage message) {
        Objects.requireNonNull(message, "message");
        post(() -> ack(message));
    }

    @Override
    public void appToForeground() {
        post(() -> {
            foreground = true;
            halted = false;
            ensureConnecting();
        });
    }

    @Override
    public void appToBackground() {
        post(() -> {
            foreground = false;
            stop("app went to background");
        });
    }

    @Override
    public void updateUserInfo(String userId) {
        if (userId == null || userId.isEmpty()) {
            throw new IllegalArgumentException("userId is empty; use clearUserInfo() to sign out");
        }
        post(() -> changeUser(userId));
    }

    @Override
    public void clearUserInfo() {
        post(() -> changeUser(null));
    }

    @Override
    public boolean isConnected() {
        return connected;
    }

    @Override
    public void addConnectionListener(ConnectionListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public void removeConnectionListener(ConnectionListener listener) {
        listeners.remove(listener);
    }

    @Override
    public void close() {
        if (!closeCalled.compareAndSet(false, true)) {
            return;
        }
        post(this::shutdownOnStateThread);
        // tasks queued before this point still run, so acks reported before close() are saved
        stateExecutor.shutdown();
        if (Thread.currentThread() != stateThread) {
            try {
                if (!stateExecutor.awaitTermination(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                    LOG.warning("state thread did not finish within " + CLOSE_WAIT_MILLIS + " ms of close()");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (ownedCallbackExecutor != null) {
            // not shutdownNow: the final onDisconnected should still reach the listeners
            ownedCallbackExecutor.shutdown();
        }
    }

    @Override
    public String toString() {
        return "MssClient{" + config.host + ':' + config.port + " device=" + config.deviceId + '}';
    }

    private static void requireBizType(String bizType) {
        if (bizType == null || bizType.isEmpty()) {
            throw new IllegalArgumentException("bizType is empty");
        }
    }

    private void post(Runnable task) {
        try {
            stateExecutor.execute(() -> guarded(task));
        } catch (RejectedExecutionException e) {
            LOG.fine("client is closed, ignoring a call");
        }
    }

    /** A task that throws would kill a periodic timer silently; log instead. */
    private static void guarded(Runnable task) {
        try {
            task.run();
        } catch (Throwable t) {
            LOG.log(Level.SEVERE, "unexpected failure on the MSS client state thread", t);
        }
    }

    /** Hands connection-thread events to the state thread. */
    private final class ConnectionEvents implements Connection.Events {
        @Override
        public void onOpen(Connection c, String token) {
            post(() -> opened(c, token));
        }

        @Override
        public void onFrame(Connection c, ServerFrame frame) {
            post(() -> received(c, frame));
        }

        @Override
        public void onClosed(Connection c, String reason) {
            post(() -> connectionLost(c, reason, false));
        }
    }

    // ---- state thread ----

    private boolean wantConnection() {
        // read live, not from a flag the close task sets: tasks queued before the close task
        // must not start new connections either
        return foreground && !halted && !closeCalled.get();
    }

    /**
     * Schedules on the state thread; null once close() shut the executor down, which tasks
     * queued before the close task can still run into.
     */
    private ScheduledFuture<?> schedule(Runnable task, long delayMillis) {
        try {
            return stateExecutor.schedule(() -> guarded(task), delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            return null;
        }
    }

    private void ensureConnecting() {
        if (wantConnection() && current == null && reconnectTask == null) {
            startAttempt();
        }
    }

    private void startAttempt() {
        cancelReconnect();
        Connection c = new Connection(++connectionCount, userId, config, tls, events);
        current = c;
        LOG.fine(() -> "connecting to " + config.host + ':' + config.port + " (" + c + ")");
        c.start();
    }

    private void scheduleReconnect() {
        long delay = backoff.nextDelayMillis();
        LOG.fine(() -> "reconnecting in " + delay + " ms");
        reconnectTask = schedule(() -> {
            reconnectTask = null;
            ensureConnecting();
        }, delay);
    }

    private void cancelReconnect() {
        if (reconnectTask != null) {
            reconnectTask.cancel(false);
            reconnectTask = null;
        }
    }

    private void changeUser(String newUserId) {
        if (Objects.equals(userId, newUserId)) {
            return;
        }
        userId = newUserId;
        // a different user means a different token, which may fix what made the server refuse us
        halted = false;
        reconnectNow(newUserId == null ? "user signed out" : "user changed");
        ensureConnecting();
    }

    /**
     * Replaces the current connection when what it told the server no longer matches the
     * registered bizTypes or the user. An attempt that has not sent its Hello yet is kept: the
     * Hello is built from the state at that moment, so a burst of registerBiz calls costs at
     * most one reconnect. Only a token fetched for another user makes such an attempt stale.
     */
    private void reconnectNow(String reason) {
        Connection c = current;
        if (c == null || (!c.helloSent && Objects.equals(c.userId, userId))) {
            return;
        }
        teardown(c);
        boolean again = wantConnection();
        if (c.welcomed) {
            notifyDisconnected(reason, again);
        }
        if (again) {
            startAttempt();
        }
    }

    private void stop(String reason) {
        cancelReconnect();
        Connection c = current;
        if (c != null) {
            teardown(c);
            if (c.welcomed) {
                notifyDisconnected(reason, false);
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
    }

    private void connectionLost(Connection c, String reason, boolean fatal) {
        if (c != current) {
            // an attempt we already replaced or stopped reporting its end
            return;
        }
        teardown(c);
        boolean willRetry = wantConnection();
        LOG.log(c.welcomed || fatal ? Level.INFO : Level.FINE,
                () -> c + " ended: " + reason + (willRetry ? "; will reconnect" : ""));
        if (willRetry) {
            scheduleReconnect();
        }
        if (c.welcomed || fatal) {
            notifyDisconnected(reason, willRetry);
        }
    }

    private void opened(Connection c, String token) {
        if (c != current) {
            c.abort();
            return;
        }
        if (storeDirty) {
            // the Hello promises these sync points; have them on disk first
            saveStore();
        }
        Hello.Builder hello = Hello.newBuilder()
                .setMinVersion(ProtocolVersion.MIN)
                .setMaxVersion(ProtocolVersion.MAX)
                .setToken(token)
                .setDeviceId(config.deviceId)
                .setOsType(config.osType)
                .setAppVersion(config.appVersion)
                .addAllBizTypes(bizCallbacks.keySet());
        for (Map.Entry<ScopeKey, Long> e : store.forSession(bizCallbacks.keySet(), c.userId).entrySet()) {
            hello.addSyncPoints(syncPoint(e.getKey(), e.getValue()));
        }
        unsentAcks.clear();
        c.helloSent = true;
        send(c, ClientFrame.newBuilder().setHello(hello).build());
    }

    private void received(Connection c, ServerFrame frame) {
        if (c != current) {
            return;
        }
        switch (frame.getKindCase()) {
            case WELCOME:
                welcomed(c, frame.getWelcome());
                break;
            case SYNC_DATA:
                if (!c.welcomed) {
                    connectionLost(c, "protocol violation: SyncData before Welcome", false);
                    return;
                }
                syncData(c, frame.getSyncData());
                break;
            case COMMAND:
                command(frame.getCommand());
                break;
            case ERROR:
                serverError(c, frame.getError());
                break;
            case PONG:
                // a sign of life; the connection thread's read timeout already counted it
                break;
            default:
                LOG.fine(() -> "ignoring a frame this client does not know: " + frame.getKindCase());
                break;
        }
    }

    private void welcomed(Connection c, Welcome w) {
        if (c.welcomed) {
            return;
        }
        c.welcomed = true;
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
        connected = true;
        long heartbeat = heartbeatMillis(w);
        try {
            pingTask = stateExecutor.scheduleAtFixedRate(() -> guarded(() -> ping(c)), heartbeat, heartbeat,
                    TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            return;
        }
        LOG.info(() -> "connected to " + config.host + ':' + config.port + ", session " + c.sessionId);
        String sessionId = c.sessionId;
        notifyListeners(l -> l.onConnected(sessionId));
        if (!unsentAcks.isEmpty()) {
            sendAcks(c);
        }
    }

    static long heartbeatMillis(Welcome w) {
        long ms = Integer.toUnsignedLong(w.getHeartbeatIntervalMs());
        return ms > 0 ? ms : DEFAULT_HEARTBEAT_MILLIS;
    }

    private void ping(Connection c) {
        if (c != current) {
            return;
        }
        send(c, ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(System.currentTimeMillis())).build());
    }

    private void syncData(Connection c, SyncData data) {
        for (BizBatch batch : data.getBatchesList()) {
            String bizType = batch.getBizType();
            Scope scope = toScope(batch.getScope());
            if (scope == null) {
                LOG.warning("ignoring a batch of " + bizType + " with unknown scope " + batch.getScope());
                continue;
            }
            MessageCallback callback = bizCallbacks.get(bizType);
            if (callback == null) {
                // unregistered after the Hello; the reconnect that follows tells the server
                continue;
            }
            ScopeKey key;
            if (scope == Scope.USER) {
                if (c.sessionUserId == null) {
                    LOG.warning("ignoring USER batch of " + bizType + " in an anonymous session");
                    continue;
                }
                key = ScopeKey.user(bizType, c.sessionUserId);
            } else {
                key = new ScopeKey(bizType, scope, "");
            }
            for (Oplog oplog : batch.getOplogsList()) {
                if (!acks.markDispatched(key, oplog.getId())) {
                    continue;
                }
                deliver(callback, SyncMessage.builder()
                        .bizType(bizType)
                        .scope(scope)
                        .id(oplog.getId())
                        .payload(oplog.getPayload())
                        .createdAt(oplog.getCreatedAt())
                        .userId(c.sessionUserId)
                        .build());
            }
        }
    }

    private void deliver(MessageCallback callback, SyncMessage message) {
        callbacks.execute(() -> {
            if (closeCalled.get()) {
                return;
            }
            try {
                callback.onMessage(message);
            } catch (Throwable t) {
                LOG.log(Level.WARNING, "callback for " + message + " threw; the message stays unacked", t);
                return;
            }
            if (config.autoAck) {
                reportMsgReceived(message);
            }
        });
    }

    private void command(Command command) {
        if (command.getType() != CommandType.FULL_UPDATE) {
            LOG.fine(() -> "ignoring command " + command.getType());
            return;
        }
        String bizType = command.getBizType();
        MessageCallback callback = bizCallbacks.get(bizType);
        if (callback == null) {
            return;
        }
        callbacks.execute(() -> {
            if (closeCalled.get()) {
                return;
            }
            try {
                callback.onFullUpdate(bizType);
            } catch (Throwable t) {
                LOG.log(Level.WARNING, "onFullUpdate(" + bizType + ") threw", t);
            }
        });
    }

    private void serverError(Connection c, io.mss.protocol.v1.Error error) {
        String reason = "server error " + error.getCode()
                + (error.getMessage().isEmpty() ? "" : ": " + error.getMessage());
        if (!error.getRetry()) {
            halted = true;
        }
        // the server closes right after an Error; close first so its EOF is not a second event
        connectionLost(c, reason, !error.getRetry());
    }

    private void ack(SyncMessage message) {
        ScopeKey key = ScopeKey.of(message);
        if (key == null || !acks.ack(key, message.id())) {
            return;
        }
        storeDirty = true;
        unsentAcks.add(key);
        if (!flushQueued) {
            // queued behind the acks already waiting, so a burst of acks costs one fsync
            flushQueued = true;
            post(this::flush);
        }
    }

    private void flush() {
        flushQueued = false;
        if (storeDirty && !saveStore()) {
            return;
        }
        Connection c = current;
        if (c != null && c.welcomed && !unsentAcks.isEmpty()) {
            sendAcks(c);
        }
    }

    /** @return whether the file now holds every sync point */
    private boolean saveStore() {
        try {
            store.save();
            storeDirty = false;
            return true;
        } catch (IOException e) {
            // no Ack either: the server must not learn a sync point we could lose on a crash
            LOG.log(Level.WARNING, "cannot save sync points, retrying in " + SAVE_RETRY_MILLIS + " ms", e);
            if (saveRetryTask == null && !closeCalled.get()) {
                saveRetryTask = schedule(() -> {
                    saveRetryTask = null;
                    flush();
                }, SAVE_RETRY_MILLIS);
            }
            return false;
        }
    }

    private void sendAcks(Connection c) {
        List<ScopeKey> keys = new ArrayList<>(unsentAcks);
        unsentAcks.clear();
        keys.sort((a, b) -> a.toString().compareTo(b.toString()));
        Ack.Builder ack = Ack.newBuilder();
        for (ScopeKey key : keys) {
            // the same filter as the Hello: another user's scopes go out with that user's Hello
            Long id = store.get(key);
            if (id != null && bizCallbacks.containsKey(key.bizType()) && key.visibleTo(c.sessionUserId)) {
                ack.addSyncPoints(syncPoint(key, id));
            }
        }
        if (ack.getSyncPointsCount() > 0) {
            send(c, ClientFrame.newBuilder().setAck(ack).build());
        }
    }

    private void send(Connection c, ClientFrame frame) {
        try {
            c.send(frame);
        } catch (IOException e) {
            connectionLost(c, "write failed: " + e, false);
        }
    }

    private void shutdownOnStateThread() {
        // send what is acked while the connection is still up
        flush();
        foreground = false;
        stop("client closed");
        if (saveRetryTask != null) {
            saveRetryTask.cancel(false);
            saveRetryTask = null;
        }
        if (storeDirty) {
            saveStore();
        }
    }

    private void notifyDisconnected(String reason, boolean willRetry) {
        notifyListeners(l -> l.onDisconnected(reason, willRetry));
    }

    private void notifyListeners(Consumer<ConnectionListener> event) {
        for (ConnectionListener l : listeners) {
            callbacks.execute(() -> {
                try {
                    event.accept(l);
                } catch (Throwable t) {
                    LOG.log(Level.WARNING, "connection listener threw", t);
                }
            });
        }
    }

    private static SyncPoint syncPoint(ScopeKey key, long id) {
        return SyncPoint.newBuilder().setBizType(key.bizType()).setScope(toKind(key.scope())).setId(id).build();
    }

    static Scope toScope(ScopeKind kind) {
        switch (kind) {
            case USER:
                return Scope.USER;
            case DEVICE:
                return Scope.DEVICE;
            case GLOBAL:
                return Scope.GLOBAL;
            default:
                return null;
        }
    }

    static ScopeKind toKind(Scope scope) {
        switch (scope) {
            case USER:
                return ScopeKind.USER;
            case DEVICE:
                return ScopeKind.DEVICE;
            default:
                return ScopeKind.GLOBAL;
        }
    }
}
