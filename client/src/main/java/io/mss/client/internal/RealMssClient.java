package io.mss.client.internal;

import io.mss.client.ConnectFailure;
import io.mss.client.ConnectionListener;
import io.mss.client.FullUpdate;
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
    private static final Logger CONNECT_LOG = Logger.getLogger(MssClient.CONNECT_LOGGER);

    private final ClientConfig config;
    private final Tls tls;
    private final ScheduledThreadPoolExecutor stateExecutor;
    private volatile Thread stateThread;
    /** Null when the app supplied its own executor: that one is not ours to shut down. */
    private final ExecutorService ownedCallbackExecutor;
    /** The app's executor (or ours), unserialized: completes upstream futures. */
    private final Executor callbackExecutor;
    private final SerialExecutor callbacks;
    private final Connection.Events events = new ConnectionEvents();
    private final CopyOnWriteArrayList<ConnectionListener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicBoolean closeCalled = new AtomicBoolean();
    private volatile boolean connected;
    /**
     * The user the app signed in last, written on the app's thread before the change reaches
     * the state thread: a USER message handed to the callback executor before a user switch is
     * checked against it right before its callback runs.
     */
    private volatile String dispatchUser;
    /** Keeps dispatchUser and the order of posted user changes in step. */
    private final Object userLock = new Object();

    // ---- state thread only ----
    private final SyncPointStore store;
    private final Inbox inbox;
    private final Backoff backoff;
    private final TreeMap<String, MessageCallback> bizCallbacks = new TreeMap<>();
    /** Scopes whose sync point moved since the current connection's Hello. */
    private final Set<ScopeKey> unsentAcks = new HashSet<>();
    /** At most one attempt per scope is with the callback. */
    private final Map<ScopeKey, Delivery> inFlight = new HashMap<>();
    /** Scopes whose head message waits for its next attempt. */
    private final Map<ScopeKey, ScheduledFuture<?>> retryTimers = new HashMap<>();
    /** The last FULL_UPDATE of each bizType without a callback, delivered on registration. */
    private final Map<String, FullUpdate> pendingFullUpdates = new LinkedHashMap<>();
    /** Upstream messages without an answer yet, in the order they were sent. */
    private final Map<String, PendingUpstream> upstream = new LinkedHashMap<>();
    private String userId;
    private String userSessionId = "";
    private boolean foreground;
    /** The server refused us with retry = false: wait for the app to act. */
    private boolean halted;
    private int connectionCount;
    /** Connect attempts that failed in a row since the last Welcome (or stop): the first one warns. */
    private int failedAttempts;
    /** At most one of current and reconnectTask is set. */
    private Connection current;
    private ScheduledFuture<?> reconnectTask;
    private ScheduledFuture<?> pingTask;
    private ScheduledFuture<?> saveRetryTask;
    private boolean storeDirty;
    private boolean flushQueued;

    private RealMssClient(ClientConfig config, Tls tls, SyncPointStore store, Inbox inbox, boolean storeDirty,
                          Random random) {
        this.config = config;
        this.tls = tls;
        this.store = store;
        this.inbox = inbox;
        this.storeDirty = storeDirty;
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
        this.callbackExecutor = callbackExecutor;
        this.callbacks = new SerialExecutor(callbackExecutor);
    }

    /** Validates the config, sets up TLS trust and loads the state directory. */
    public static MssClient create(ClientConfig config) {
        config.validate();
        Tls tls = Tls.from(config);
        SyncPointStore store;
        Inbox inbox;
        try {
            store = SyncPointStore.open(config.stateDir);
            inbox = Inbox.open(config.stateDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open state directory " + config.stateDir, e);
        }
        boolean raised = reconcile(store, inbox);
        if (raised) {
            try {
                store.save();
                raised = false;
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot save sync points; retrying before the next Hello", e);
            }
        }
        return new RealMssClient(config, tls, store, inbox, raised, new Random());
    }

    /**
     * A crash between the inbox's fsync and the sync point file's leaves the file behind: the
     * inbox, always written first, is the truth, also for a scope it already restarted on a new
     * epoch.
     *
     * @return whether the sync points changed and must be saved
     */
    static boolean reconcile(SyncPointStore store, Inbox inbox) {
        Set<ScopeKey> keys = new HashSet<>(inbox.highs().keySet());
        keys.addAll(inbox.epochs().keySet());
        boolean changed = false;
        for (ScopeKey key : keys) {
            long epoch = inbox.epoch(key);
            if (epoch != 0 && store.epoch(key) != 0 && store.epoch(key) != epoch) {
                store.restart(key, epoch);
                changed = true;
            }
            changed |= store.put(key, epoch, inbox.high(key));
        }
        return changed;
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
            FullUpdate update = pendingFullUpdates.remove(bizType);
            if (update != null) {
                fullUpdate(callback, update);
            }
            pump();
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
        updateUserInfo(userId, "");
    }

    @Override
    public void updateUserInfo(String userId, String sessionId) {
        if (userId == null || userId.isEmpty()) {
            throw new IllegalArgumentException("userId is empty; use clearUserInfo() to sign out");
        }
        Objects.requireNonNull(sessionId, "sessionId");
        setUser(userId, sessionId);
    }

    @Override
    public void clearUserInfo() {
        setUser(null, "");
    }

    private void setUser(String newUserId, String sessionId) {
        synchronized (userLock) {
            dispatchUser = newUserId;
            post(() -> changeUser(newUserId, sessionId));
        }
    }

    @Override
    public CompletableFuture<UpstreamReply> sendMessage(String bizType, String payload) {
        requireBizType(bizType);
        Objects.requireNonNull(payload, "payload");
        if (payload.length() > MAX_UPSTREAM_PAYLOAD_CHARS) {
            throw new IllegalArgumentException("payload of " + payload.length() + " characters exceeds the limit of "
                    + MAX_UPSTREAM_PAYLOAD_CHARS);
        }
        PendingUpstream p = new PendingUpstream(UUID.randomUUID().toString(), bizType, payload);
        if (closeCalled.get() || !tryPost(() -> enqueueUpstream(p))) {
            p.future.completeExceptionally(new IllegalStateException("the MSS client is closed"));
            return p.future;
        }
        // an app that gives up on the answer should not keep it being resent
        p.future.whenComplete((reply, error) -> {
            if (p.future.isCancelled()) {
                post(() -> forgetUpstream(p));
            }
        });
        return p.future;
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
        if (!tryPost(task)) {
            LOG.fine("client is closed, ignoring a call");
        }
    }

    private boolean tryPost(Runnable task) {
        try {
            stateExecutor.execute(() -> guarded(task));
            return true;
        } catch (RejectedExecutionException e) {
            return false;
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
            // read here, on the connection thread that wrote them
            ConnectFailure.Reason kind = c.failureReason;
            String detail = c.failureDetail != null ? c.failureDetail : reason;
            Throwable cause = c.failureCause;
            post(() -> connectionLost(c, reason, false, kind, detail, null, cause));
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

    /** @return the delay before the next attempt, or -1 when none was scheduled (closing) */
    private long scheduleReconnect() {
        long delay = backoff.nextDelayMillis();
        LOG.fine(() -> "reconnecting in " + delay + " ms");
        reconnectTask = schedule(() -> {
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

    private void changeUser(String newUserId, String sessionId) {
        boolean userChanged = !Objects.equals(userId, newUserId);
        if (!userChanged && sessionId.equals(userSessionId)) {
            return;
        }
        userId = newUserId;
        userSessionId = sessionId;
        // a different user means a different token, which may fix what made the server refuse us
        halted = false;
        reconnectNow(newUserId == null ? "user signed out" : userChanged ? "user changed" : "user session changed");
        ensureConnecting();
        if (userChanged) {
            // the new user's USER messages, if the inbox has any from an earlier sign-in
            pump();
        }
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
        failedAttempts = 0;
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
        connectionLost(c, reason, fatal, ConnectFailure.Reason.OTHER, reason, null, null);
    }

    /** kind, detail, serverErrorCode and cause are what an attempt that never got its Welcome reports. */
    private void connectionLost(Connection c, String reason, boolean fatal, ConnectFailure.Reason kind, String detail,
                                String serverErrorCode, Throwable cause) {
        if (c != current) {
            // an attempt we already replaced or stopped reporting its end
            return;
        }
        teardown(c);
        boolean willRetry = wantConnection();
        long delay = willRetry ? scheduleReconnect() : -1;
        if (c.welcomed) {
            LOG.info(() -> c + " ended: " + reason + (willRetry ? "; will reconnect" : ""));
        } else {
            connectFailed(new ConnectFailure(kind, detail, config.host, config.port, serverErrorCode,
                    willRetry && delay >= 0, delay, ++failedAttempts, cause));
        }
        if (c.welcomed || fatal) {
            notifyDisconnected(reason, willRetry);
        }
    }

    /** Loud once per streak, so that a server that is down does not flood the app's log. */
    private void connectFailed(ConnectFailure failure) {
        if (failure.consecutiveFailures() == 1) {
            CONNECT_LOG.warning(failure.message());
        } else {
            CONNECT_LOG.fine(() -> failure.message() + " (" + failure.consecutiveFailures() + " failures in a row)");
        }
        notifyListeners(l -> l.onConnectFailed(failure));
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
        // c.userId is the current user: an attempt for another one was replaced before its Hello
        Hello.Builder hello = Hello.newBuilder()
                .setMinVersion(ProtocolVersion.MIN)
                .setMaxVersion(ProtocolVersion.MAX)
                .setToken(token)
                .setDeviceId(config.deviceId)
                .setOsType(config.osType)
                .setAppVersion(config.appVersion)
                .addAllBizTypes(bizCallbacks.keySet())
                .setUserId(c.userId == null ? "" : c.userId)
                .setSessionId(c.userId == null ? "" : userSessionId);
        // with epochs even before the server chose a version: a version 1 server ignores the field,
        // and epochs are only stored once a version 2 server sent them
        for (Map.Entry<ScopeKey, Long> e : store.forSession(bizCallbacks.keySet(), c.userId).entrySet()) {
            hello.addSyncPoints(syncPoint(e.getKey(), e.getValue(), store.epoch(e.getKey())));
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
                command(c, frame.getCommand());
                break;
            case UPSTREAM_RESULT:
                upstreamResult(frame.getUpstreamResult());
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
        c.version = Math.max(w.getVersion(), ProtocolVersion.MIN);
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
        // unanswered upstream messages, again with their ids: the server answers a repeat once
        for (PendingUpstream p : new ArrayList<>(upstream.values())) {
            if (current != c) {
                return;
            }
            sendUpstream(c, p);
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

    /**
     * Stores the new oplogs in the inbox (fsync), raises their sync points, and queues the flush
     * that saves the sync points and then acks the server. Dispatch starts from the inbox.
     * Ephemeral batches bypass all of that; a durable batch of another timeline than the stored
     * sync point's restarts its scope first.
     */
    private void syncData(Connection c, SyncData data) {
        boolean epochs = c.version >= ProtocolVersion.EPOCHS;
        List<SyncMessage> incoming = new ArrayList<>();
        Set<ScopeKey> stored = new LinkedHashSet<>();
        for (BizBatch batch : data.getBatchesList()) {
            String bizType = batch.getBizType();
            Scope scope = toScope(batch.getScope());
            if (scope == null) {
                LOG.warning("ignoring a batch of " + bizType + " with unknown scope " + batch.getScope());
                continue;
            }
            if (scope == Scope.USER && c.sessionUserId == null) {
                LOG.warning("ignoring USER batch of " + bizType + " in an anonymous session");
                continue;
            }
            ScopeKey key = new ScopeKey(bizType, scope, scope == Scope.USER ? c.sessionUserId : "");
            if (epochs && batch.getEphemeral()) {
                dispatchEphemeral(c, key, batch);
                continue;
            }
            long epoch = epochs ? batch.getEpoch() : 0;
            if (isOtherTimeline(key, epoch)) {
                // a correct server sends FULL_UPDATE first; without it, the batch still proves that
                // our position is on a timeline the server no longer serves
                String detail = "a batch of epoch " + epoch + " while the sync point is on epoch " + storedEpoch(key);
                if (!storeIncoming(c, incoming, stored)) {
                    return;
                }
                incoming.clear();
                if (!restartScope(c, key, epoch, detail)) {
                    return;
                }
                signalFullUpdate(new FullUpdate(bizType, scope, epoch, true, detail));
            }
            for (Oplog oplog : batch.getOplogsList()) {
                incoming.add(SyncMessage.builder()
                        .bizType(bizType)
                        .scope(scope)
                        .id(oplog.getId())
                        .epoch(epoch)
                        .payload(oplog.getPayload())
                        .createdAt(oplog.getCreatedAt())
                        .userId(c.sessionUserId)
                        .build());
            }
        }
        if (!storeIncoming(c, incoming, stored)) {
            return;
        }
        for (ScopeKey key : stored) {
            if (store.put(key, inbox.epoch(key), inbox.high(key))) {
                storeDirty = true;
                unsentAcks.add(key);
            }
        }
        if (!stored.isEmpty()) {
            queueFlush();
            for (ScopeKey key : stored) {
                pump(key);
            }
        }
    }

    /**
     * @param stored collects the scopes that got new messages
     * @return false when the inbox could not take them: not stored, not acked, and the connection
     *     is dropped so that a new one gets them again from the sync points
     */
    private boolean storeIncoming(Connection c, List<SyncMessage> incoming, Set<ScopeKey> stored) {
        if (incoming.isEmpty()) {
            return true;
        }
        try {
            stored.addAll(inbox.store(incoming));
            return true;
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot write " + incoming.size() + " messages to the inbox", e);
            connectionLost(c, "cannot write the inbox: " + e, false);
            return false;
        }
    }

    /** The epoch of the scope's stored position: the sync point's, else the inbox's; 0 if not known. */
    private long storedEpoch(ScopeKey key) {
        long epoch = store.epoch(key);
        return epoch != 0 ? epoch : inbox.epoch(key);
    }

    /** Whether {@code epoch} is known and differs from a known epoch of the stored position. */
    private boolean isOtherTimeline(ScopeKey key, long epoch) {
        long stored = store.epoch(key);
        long inInbox = inbox.epoch(key);
        return epoch != 0 && ((stored != 0 && stored != epoch) || (inInbox != 0 && inInbox != epoch));
    }

    /**
     * A push of a non-persistent bizType: straight to the callback, in order with what is queued
     * there. Never in the inbox, never a sync point, never acked, never retried: its ids are not
     * oplog ids of the scope's timeline.
     */
    private void dispatchEphemeral(Connection c, ScopeKey key, BizBatch batch) {
        MessageCallback callback = bizCallbacks.get(key.bizType());
        if (callback == null) {
            LOG.fine(() -> "no callback for ephemeral messages of " + key + "; they are not kept");
            return;
        }
        for (Oplog oplog : batch.getOplogsList()) {
            SyncMessage m = SyncMessage.builder()
                    .bizType(key.bizType())
                    .scope(key.scope())
                    .id(oplog.getId())
                    .ephemeral(true)
                    .payload(oplog.getPayload())
                    .createdAt(oplog.getCreatedAt())
                    .userId(c.sessionUserId)
                    .build();
            callbacks.execute(() -> {
                // the same checks as a stored message's attempt, right before the app sees it
                if (closeCalled.get() || !key.visibleTo(dispatchUser)) {
                    return;
                }
                try {
                    callback.onMessage(m);
                } catch (Throwable t) {
                    LOG.log(Level.WARNING, "callback for ephemeral " + m + " threw; it is not retried", t);
                }
            });
        }
    }

    /**
     * Starts a scope over on timeline {@code epoch}: the attempt with the callback and any retry
     * of it end, the undispatched messages are dropped from the inbox (fsync'd), and the sync
     * point becomes {@code (epoch, 0)}, so that the new timeline's ids, however low, are taken.
     * An attempt already queued on the callback executor sees itself cancelled and never calls
     * the app; one whose callback is running now finishes before the app's onFullUpdate, which
     * the caller queues behind it.
     *
     * @return false when the inbox could not record it; the connection is dropped then, and the
     *     next Hello, still on the old position, makes the server say FULL_UPDATE again
     */
    private boolean restartScope(Connection c, ScopeKey key, long epoch, String detail) {
        try {
            List<SyncMessage> dropped = inbox.restart(key, epoch);
            LOG.info("restarting " + key + " on epoch " + epoch + " (" + detail + "); dropped " + dropped.size()
                    + " undispatched messages of the old timeline");
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot restart " + key + " in the inbox", e);
            connectionLost(c, "cannot write the inbox: " + e, false);
            return false;
        }
        Delivery d = inFlight.get(key);
        if (d != null) {
            finish(d);
        }
        ScheduledFuture<?> retry = retryTimers.remove(key);
        if (retry != null) {
            retry.cancel(false);
        }
        store.restart(key, epoch);
        // nothing to ack at id 0; the next stored message acks the new position
        unsentAcks.remove(key);
        storeDirty = true;
        // a failed save is retried before the next Hello or Ack; until then the inbox's EPOCH
        // record is what a restarted app reconciles the file with
        saveStore();
        return true;
    }

    // ---- dispatch from the inbox ----

    /** One attempt to hand a message to its callback. */
    private static final class Delivery {
        final ScopeKey key;
        final SyncMessage message;
        final int attempt;
        final MessageCallback callback;
        /** Set on the state thread when this attempt is over; read by the callback thread. */
        volatile boolean cancelled;
        /** State thread: the callback started, so the ack timeout runs. */
        ScheduledFuture<?> timeout;

        Delivery(ScopeKey key, SyncMessage message, int attempt, MessageCallback callback) {
            this.key = key;
            this.message = message;
            this.attempt = attempt;
            this.callback = callback;
        }

        @Override
        public String toString() {
            return message + " attempt " + attempt + "/" + MAX_DELIVERY_ATTEMPTS;
        }
    }

    private void pump() {
        for (ScopeKey key : inbox.pendingScopes()) {
            pump(key);
        }
    }

    /** Hands the head of the scope to its callback when nothing holds it back. */
    private void pump(ScopeKey key) {
        while (!closeCalled.get() && !inFlight.containsKey(key) && !retryTimers.containsKey(key)) {
            Inbox.Entry head = inbox.head(key);
            if (head == null) {
                return;
            }
            MessageCallback callback = bizCallbacks.get(key.bizType());
            if (callback == null) {
                // waits in the inbox until a callback is registered
                return;
            }
            // dispatchUser as well: a user switch the app asked for may still be on its way here
            if (!key.visibleTo(userId) || !key.visibleTo(dispatchUser)) {
                return;
            }
            if (head.attempts() >= MAX_DELIVERY_ATTEMPTS) {
                drop(key, head, callback);
                continue;
            }
            deliver(key, head, callback);
            return;
        }
    }

    private void deliver(ScopeKey key, Inbox.Entry entry, MessageCallback callback) {
        int attempt = entry.attempts() + 1;
        try {
            // before the callback: an app that dies inside it must find the attempt counted
            inbox.recordAttempt(key, entry.message().id(), attempt);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot record delivery attempt " + attempt + " of " + entry.message(), e);
        }
        Delivery d = new Delivery(key, entry.message(), attempt, callback);
        inFlight.put(key, d);
        callbacks.execute(() -> runDelivery(d));
    }

    /** Callback thread. */
    private void runDelivery(Delivery d) {
        if (closeCalled.get() || d.cancelled
                || (d.key.scope() == Scope.USER && !d.key.owner().equals(dispatchUser))) {
            post(() -> notRun(d));
            return;
        }
        post(() -> started(d));
        try {
            d.callback.onMessage(d.message);
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "callback for " + d + " threw", t);
            post(() -> failed(d, "the callback threw " + t));
            return;
        }
        if (config.autoAck) {
            reportMsgReceived(d.message);
        }
    }

    private boolean isCurrent(Delivery d) {
        return inFlight.get(d.key) == d;
    }

    private void finish(Delivery d) {
        inFlight.remove(d.key);
        d.cancelled = true;
        if (d.timeout != null) {
            d.timeout.cancel(false);
            d.timeout = null;
        }
    }

    private void started(Delivery d) {
        if (isCurrent(d) && d.timeout == null) {
            d.timeout = schedule(() -> failed(d, "not acked within " + config.ackTimeoutMillis + " ms"),
                    config.ackTimeoutMillis);
        }
    }

    /** The attempt never reached the callback (closing, or its user signed out): not counted. */
    private void notRun(Delivery d) {
        if (!isCurrent(d)) {
            return;
        }
        finish(d);
        uncount(d);
        pump(d.key);
    }

    private void uncount(Delivery d) {
        Inbox.Entry e = inbox.get(d.key, d.message.id());
        if (e != null && e.attempts() == d.attempt) {
            try {
                inbox.recordAttempt(d.key, d.message.id(), d.attempt - 1);
            } catch (IOException ex) {
                LOG.log(Level.FINE, "cannot uncount delivery attempt of " + d.message, ex);
            }
        }
    }

    private void failed(Delivery d, String reason) {
        if (!isCurrent(d)) {
            return;
        }
        finish(d);
        Inbox.Entry e = inbox.get(d.key, d.message.id());
        if (e == null) {
            return;
        }
        e.lastFailure(reason);
        LOG.warning("delivery of " + d + " failed: " + reason);
        if (e.attempts() >= MAX_DELIVERY_ATTEMPTS) {
            // dropped by pump, with the event, once its callback and user are there
            pump(d.key);
            return;
        }
        ScopeKey key = d.key;
        ScheduledFuture<?> timer = schedule(() -> {
            retryTimers.remove(key);
            pump(key);
        }, redeliveryDelayMillis(e.attempts()));
        if (timer != null) {
            retryTimers.put(key, timer);
        }
    }

    /** The delay after {@code attempts} failed attempts: min, doubling, at most max. */
    long redeliveryDelayMillis(int attempts) {
        long delay = config.redeliveryMinMillis;
        for (int i = 1; i < attempts && delay < config.redeliveryMaxMillis; i++) {
            delay *= 2;
        }
        return Math.min(delay, config.redeliveryMaxMillis);
    }

    private void drop(ScopeKey key, Inbox.Entry entry, MessageCallback callback) {
        SyncMessage m = entry.message();
        String reason = "dropped after " + entry.attempts() + " delivery attempts; last: "
                + (entry.lastFailure() != null ? entry.lastFailure()
                : "attempt " + entry.attempts() + " did not finish before the app stopped");
        try {
            inbox.remove(key, m.id(), true);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot record the drop of " + m + " in the inbox", e);
        }
        LOG.warning(m + " " + reason);
        callbacks.execute(() -> {
            if (closeCalled.get()) {
                return;
            }
            try {
                callback.onMessageDropped(m, reason);
            } catch (Throwable t) {
                LOG.log(Level.WARNING, "onMessageDropped(" + m + ") threw", t);
            }
        });
    }

    /** The app acked: done, removed from the inbox, the scope moves on. */
    private void ack(SyncMessage message) {
        ScopeKey key = ScopeKey.of(message);
        if (key == null) {
            return;
        }
        if (message.ephemeral()) {
            // never stored, nothing to remove
            return;
        }
        Inbox.Entry e = inbox.get(key, message.id());
        if (e == null || e.attempts() == 0 || e.message().epoch() != message.epoch()) {
            // done already, dropped, never delivered, or the same id of a timeline we left
            return;
        }
        Delivery d = inFlight.get(key);
        if (d != null && d.message.id() == message.id()) {
            finish(d);
        }
        if (inbox.head(key) == e) {
            ScheduledFuture<?> retry = retryTimers.remove(key);
            if (retry != null) {
                retry.cancel(false);
            }
        }
        try {
            inbox.remove(key, message.id(), false);
        } catch (IOException ex) {
            LOG.log(Level.WARNING, "cannot record the ack of " + message + " in the inbox; it may be delivered again"
                    + " after a restart", ex);
        }
        pump(key);
    }

    private void command(Connection c, Command command) {
        if (command.getType() != CommandType.FULL_UPDATE) {
            LOG.fine(() -> "ignoring command " + command.getType());
            return;
        }
        boolean epochs = c.version >= ProtocolVersion.EPOCHS;
        String bizType = command.getBizType();
        Scope scope = toScope(command.getScope());
        long epoch = epochs ? command.getEpoch() : 0;
        boolean restart = epochs && command.getRestart();
        if (restart) {
            for (ScopeKey key : scopesOf(c, bizType, scope)) {
                if (!restartScope(c, key, epoch, command.getDetail())) {
                    return;
                }
            }
        }
        signalFullUpdate(new FullUpdate(bizType, scope, epoch, restart, command.getDetail()));
    }

    /** The scopes a command about {@code bizType} (and {@code scope}, when the server named it) is about. */
    private List<ScopeKey> scopesOf(Connection c, String bizType, Scope scope) {
        List<ScopeKey> keys = new ArrayList<>();
        if (scope == Scope.USER) {
            if (c.sessionUserId != null) {
                keys.add(ScopeKey.user(bizType, c.sessionUserId));
            }
        } else if (scope != null) {
            keys.add(new ScopeKey(bizType, scope, ""));
        } else {
            // unnamed: every scope of the bizType this session could have been served
            for (ScopeKey key : store.snapshot().keySet()) {
                if (key.bizType().equals(bizType) && key.visibleTo(c.sessionUserId)) {
                    keys.add(key);
                }
            }
        }
        return keys;
    }

    /** Tells the bizType's callback, or remembers it until one is registered. */
    private void signalFullUpdate(FullUpdate update) {
        MessageCallback callback = bizCallbacks.get(update.bizType());
        if (callback == null) {
            FullUpdate earlier = pendingFullUpdates.get(update.bizType());
            // a later gap must not hide that the scope was restarted: the app reloads either way
            if (earlier == null || !earlier.restart() || update.restart()) {
                pendingFullUpdates.put(update.bizType(), update);
            }
            return;
        }
        fullUpdate(callback, update);
    }

    /** Queued behind the attempts already with the callback executor, ahead of any that follow. */
    private void fullUpdate(MessageCallback callback, FullUpdate update) {
        callbacks.execute(() -> {
            if (closeCalled.get()) {
                return;
            }
            try {
                callback.onFullUpdate(update);
            } catch (Throwable t) {
                LOG.log(Level.WARNING, "onFullUpdate(" + update + ") threw", t);
            }
        });
    }

    // ---- upstream ----

    private static final class PendingUpstream {
        final String id;
        final String bizType;
        final String payload;
        final CompletableFuture<UpstreamReply> future = new CompletableFuture<>();
        ScheduledFuture<?> timeout;
        /** The connection it was last sent on: sent again on each new one. */
        Connection sentOn;

        PendingUpstream(String id, String bizType, String payload) {
            this.id = id;
            this.bizType = bizType;
            this.payload = payload;
        }
    }

    private void enqueueUpstream(PendingUpstream p) {
        if (closeCalled.get()) {
            completeUpstream(p, null, new IllegalStateException("the MSS client is closed"));
            return;
        }
        upstream.put(p.id, p);
        p.timeout = schedule(() -> upstreamTimedOut(p), config.upstreamTimeoutMillis);
        Connection c = current;
        if (c != null && c.welcomed) {
            sendUpstream(c, p);
        }
    }

    private void sendUpstream(Connection c, PendingUpstream p) {
        if (p.sentOn == c) {
            return;
        }
        p.sentOn = c;
        send(c, ClientFrame.newBuilder().setUpstream(UpstreamMessage.newBuilder()
                .setClientMsgId(p.id)
                .setBizType(p.bizType)
                .setPayload(p.payload)).build());
    }

    private void upstreamResult(UpstreamResult r) {
        PendingUpstream p = upstream.remove(r.getClientMsgId());
        if (p == null) {
            LOG.fine(() -> "an answer to upstream message " + r.getClientMsgId() + " that is no longer waited for");
            return;
        }
        cancelTimeout(p);
        completeUpstream(p, new UpstreamReply(r.getClientMsgId(), r.getSuccess(), r.getCode(), r.getPayload(),
                r.getMessage()), null);
    }

    private void upstreamTimedOut(PendingUpstream p) {
        if (upstream.remove(p.id, p)) {
            p.timeout = null;
            completeUpstream(p, null, new UpstreamTimeoutException(p.id, config.upstreamTimeoutMillis));
        }
    }

    private void forgetUpstream(PendingUpstream p) {
        if (upstream.remove(p.id, p)) {
            cancelTimeout(p);
        }
    }

    private static void cancelTimeout(PendingUpstream p) {
        if (p.timeout != null) {
            p.timeout.cancel(false);
            p.timeout = null;
        }
    }

    /** On the callback executor, so that the app's dependent stages never run on the state thread. */
    private void completeUpstream(PendingUpstream p, UpstreamReply reply, Throwable error) {
        Runnable complete = () -> {
            if (error != null) {
                p.future.completeExceptionally(error);
            } else {
                p.future.complete(reply);
            }
        };
        try {
            callbackExecutor.execute(complete);
        } catch (RejectedExecutionException e) {
            complete.run();
        }
    }

    private void serverError(Connection c, io.mss.protocol.v1.Error error) {
        String reason = "server error " + error.getCode()
                + (error.getMessage().isEmpty() ? "" : ": " + error.getMessage());
        if (!error.getRetry()) {
            halted = true;
        }
        // the server closes right after an Error; close first so its EOF is not a second event
        connectionLost(c, reason, !error.getRetry(), ConnectFailure.Reason.SERVER_ERROR, reason,
                error.getCode().name(), null);
    }

    private void queueFlush() {
        if (!flushQueued) {
            // queued behind the frames already waiting, so a burst of them costs one fsync
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
            // another user's scopes go out with that user's Hello; a bizType without a callback is
            // acked too: its messages are stored, they only wait in the inbox
            Long id = store.get(key);
            if (id != null && key.visibleTo(c.sessionUserId)) {
                // a version 1 server knows no epochs: its acks are exactly as before
                ack.addSyncPoints(syncPoint(key, id, c.version >= ProtocolVersion.EPOCHS ? store.epoch(key) : 0));
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
        // send what is stored while the connection is still up
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
        // attempts that had not failed when the app closed us do not count against the message
        for (Delivery d : new ArrayList<>(inFlight.values())) {
            finish(d);
            uncount(d);
        }
        for (ScheduledFuture<?> retry : retryTimers.values()) {
            retry.cancel(false);
        }
        retryTimers.clear();
        for (PendingUpstream p : new ArrayList<>(upstream.values())) {
            cancelTimeout(p);
            completeUpstream(p, null, new IllegalStateException("the MSS client was closed before an answer came"));
        }
        upstream.clear();
        try {
            inbox.close();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot close the inbox", e);
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

    private static SyncPoint syncPoint(ScopeKey key, long id, long epoch) {
        return SyncPoint.newBuilder().setBizType(key.bizType()).setScope(toKind(key.scope())).setId(id)
                .setEpoch(epoch).build();
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
