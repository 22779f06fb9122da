package io.mss.client.internal;

import io.mss.client.ConnectionListener;
import io.mss.client.MessageCallback;
import io.mss.client.MssClient;
import io.mss.client.SyncMessage;
import io.mss.client.UpstreamReply;
import io.mss.client.internal.proto.Ack;
import io.mss.client.internal.proto.ClientFrame;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The client: the public API, validated on the caller's thread and handed to the state thread
 * ({@link StateLoop}), where these pieces do the work, each owning its part of the state:
 * <ul>
 *   <li>{@link ConnectionManager}: connect, backoff, Hello and Welcome, ping, listeners;
 *   <li>{@link FrameIntake}: the server's frames into the inbox, the read-ahead window;
 *   <li>{@link FullUpdates}: FULL_UPDATE to the callbacks, timeline restarts;
 *   <li>{@link AckFlusher}: Acks of moved sync points, coalesced; the checkpoint file;
 *   <li>{@link DeliveryPump}: inbox to callbacks, one attempt per scope, retries, drops;
 *   <li>{@link UpstreamRequests}: device-to-server messages and their answers;
 *   <li>{@link UserSwitch}: the signed-in user, on the app's thread and on the state thread.
 * </ul>
 * See {@link MssClient} for the threading model.
 */
public final class RealMssClient implements MssClient {
    private static final long CLOSE_WAIT_MILLIS = 5_000;
    private static final Logger LOG = Logger.getLogger("io.mss.client");

    private final ClientConfig config;
    private final StateLoop loop;
    /** Null when the app supplied its own executor: that one is not ours to shut down. */
    private final ExecutorService ownedCallbackExecutor;
    private final AtomicBoolean closeCalled = new AtomicBoolean();
    private final Inbox inbox;
    /** State thread: the registered callbacks, sorted so that Hellos list them in order. */
    private final TreeMap<String, MessageCallback> bizCallbacks = new TreeMap<>();
    private final UserSwitch users;
    private final ConnectionManager connections;
    private final FrameIntake intake;
    private final AckFlusher acks;
    private final DeliveryPump pump;
    private final UpstreamRequests upstream;
    private final FullUpdates fullUpdates;
    /** State thread: messages left the inbox in the current task; frames may be taken again at its end. */
    private boolean removedInTask;

    private RealMssClient(ClientConfig config, Tls tls, SyncPointStore store, Inbox inbox, boolean storeDirty,
                          Random random) {
        this.config = config;
        this.inbox = inbox;
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
        this.loop = new StateLoop("mss-client-state", callbackExecutor);
        this.users = new UserSwitch(loop, this::userChanged);
        this.intake = new FrameIntake(loop, inbox, store, bizCallbacks, users, closeCalled::get);
        this.connections = new ConnectionManager(loop, config, tls,
                new Backoff(config.backoffMinMillis, config.backoffMaxMillis, random), closeCalled::get, intake);
        this.acks = new AckFlusher(loop, store, storeDirty, new AckFlusher.Sink() {
            @Override
            public Connection welcomed() {
                return connections.welcomed();
            }

            @Override
            public void sendAck(Connection c, Ack ack) {
                connections.send(c, ClientFrame.newBuilder().setAck(ack).build());
            }
        });
        this.pump = new DeliveryPump(loop, inbox, config, bizCallbacks, users, closeCalled::get,
                () -> removedInTask = true);
        this.upstream = new UpstreamRequests(loop, config.upstreamTimeoutMillis, callbackExecutor, connections::send);
        this.fullUpdates = new FullUpdates(loop, inbox, store, bizCallbacks, closeCalled::get, connections, acks, pump,
                intake::resume);
        intake.wire(connections, acks, pump, upstream, fullUpdates);
        // the ATTEMPT and DONE records of a task: one write at its end, before its callbacks run
        inbox.deferDeliveryRecords();
        loop.setBeforeCallbacks(() -> {
            while (removedInTask) {
                // once per task, not once per ack: a task takes many acks during a catch-up
                removedInTask = false;
                intake.resume();
            }
            try {
                inbox.flushDeferred();
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot write delivery records to the inbox; attempts or acks may be lost"
                        + " on a crash", e);
            }
        });
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

    /** @return whether the sync points changed and the checkpoint file must be rewritten */
    static boolean reconcile(SyncPointStore store, Inbox inbox) {
        return store.reconcileWith(inbox);
    }

    // ---- public API: validate on the caller's thread, then hand over ----

    @Override
    public void registerBiz(String bizType, MessageCallback callback) {
        requireBizType(bizType);
        Objects.requireNonNull(callback, "callback");
        loop.post(() -> {
            if (bizCallbacks.put(bizType, callback) == null) {
                connections.reconnectNow("registered bizType " + bizType);
            } else {
                pump.callbackChanged(bizType);
            }
            fullUpdates.registered(bizType, callback);
            pump.pumpAll();
            intake.resume();
        });
    }

    @Override
    public void unregisterBiz(String bizType) {
        requireBizType(bizType);
        loop.post(() -> {
            if (bizCallbacks.remove(bizType) != null) {
                pump.callbackChanged(bizType);
                connections.reconnectNow("unregistered bizType " + bizType);
            }
            intake.resume();
        });
    }

    @Override
    public void reportMsgReceived(SyncMessage message) {
        Objects.requireNonNull(message, "message");
        pump.reportAcked(message);
    }

    @Override
    public void appToForeground() {
        loop.post(connections::foreground);
    }

    @Override
    public void appToBackground() {
        loop.post(() -> connections.background("app went to background"));
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
        users.request(userId, sessionId);
    }

    @Override
    public void clearUserInfo() {
        users.request(null, "");
    }

    /** State thread: the next Hello is for the new user or session; its stored USER messages may go now. */
    private void userChanged(String reason, boolean userChanged) {
        connections.user(users.userId());
        connections.unhalt();
        connections.reconnectNow(reason);
        connections.ensureConnecting();
        if (userChanged) {
            // the new user's USER messages, if the inbox has any from an earlier sign-in
            pump.pumpAll();
        }
        intake.resume();
    }

    @Override
    public CompletableFuture<UpstreamReply> sendMessage(String bizType, String payload) {
        requireBizType(bizType);
        Objects.requireNonNull(payload, "payload");
        if (payload.length() > MAX_UPSTREAM_PAYLOAD_CHARS) {
            throw new IllegalArgumentException("payload of " + payload.length() + " characters exceeds the limit of "
                    + MAX_UPSTREAM_PAYLOAD_CHARS);
        }
        UpstreamRequests.Request r = UpstreamRequests.newRequest(bizType, payload);
        if (closeCalled.get() || !loop.tryPost(() -> {
            if (closeCalled.get()) {
                upstream.fail(r, new IllegalStateException("the MSS client is closed"));
            } else {
                upstream.add(r, connections.welcomed());
            }
        })) {
            r.future.completeExceptionally(new IllegalStateException("the MSS client is closed"));
            return r.future;
        }
        // an app that gives up on the answer should not keep it being resent
        r.future.whenComplete((reply, error) -> {
            if (r.future.isCancelled()) {
                loop.post(() -> upstream.forget(r));
            }
        });
        return r.future;
    }

    @Override
    public boolean isConnected() {
        return connections.isConnected();
    }

    @Override
    public void addConnectionListener(ConnectionListener listener) {
        connections.listeners().add(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public void removeConnectionListener(ConnectionListener listener) {
        connections.listeners().remove(listener);
    }

    @Override
    public void close() {
        if (!closeCalled.compareAndSet(false, true)) {
            return;
        }
        loop.post(this::shutdownOnStateThread);
        // tasks queued before this point still run, so acks reported before close() are saved
        loop.shutdown();
        if (!loop.onStateThread()) {
            try {
                if (!loop.awaitTermination(CLOSE_WAIT_MILLIS)) {
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

    private void shutdownOnStateThread() {
        // send what is stored while the connection is still up
        acks.close();
        connections.background("client closed");
        pump.close();
        upstream.failAll(new IllegalStateException("the MSS client was closed before an answer came"));
        try {
            inbox.close();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot close the inbox", e);
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
}
