package io.mss.server.sync;

import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.SyncPoint;
import io.mss.server.auth.ClientToken;
import io.mss.server.biz.BizType;
import io.mss.server.metrics.MssMetrics;
import io.mss.server.cluster.ClusterBus;
import io.mss.server.cluster.LocalBus;
import io.mss.server.store.AppendRequest;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.DeliveryFilter;
import io.mss.server.store.Oplog;
import io.mss.server.store.OplogStore;
import io.mss.server.store.Scope;
import io.mss.server.store.SyncPointStore;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Appends pushes, and opens and closes sessions. Pushes become oplogs in the store; the
 * store's commit listener feeds the {@link Dispatcher}, which hands them to sessions.
 *
 * <p>Also owns what spans sessions: which device of a user holds a single-device scope, and
 * the pieces it wires up: the bizType configurations this node applied ({@link BizTypeConfigs}),
 * how often a device was sent an oplog it never acked ({@link PoisonCutoff}), and threshold
 * trimming and the retention purge ({@link Maintenance}, on one maintenance thread, never on the
 * store's writer).
 */
public final class SyncEngine implements AutoCloseable {
    /** An oplog sent this many times to a device without an ack is skipped for that device. */
    public static final int POISON_CUTOFF_ATTEMPTS = 6;
    private static final Logger log = LoggerFactory.getLogger(SyncEngine.class);
    private static final Logger events = LoggerFactory.getLogger("mss.events");

    private final OplogStore oplogs;
    private final SyncPointStore syncPoints;
    private final Dispatcher dispatcher;
    private final Clock clock;
    /** The stores, clock and frame limits every session of this engine is opened with. */
    private final SessionWiring sessionWiring;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final MssMetrics metrics = new MssMetrics();
    private final List<AckListener> ackListeners = new CopyOnWriteArrayList<>();
    /** Single-device scopes: the session of the user's most recently connected device. */
    private final Map<Scope, Session> singleDeviceHolders = new ConcurrentHashMap<>();
    private final PoisonCutoff poison;
    private final AtomicLong commitBatches = new AtomicLong();
    /**
     * Non-persistent scopes: ids from the clock, so they keep growing across restarts. They are
     * not oplog ids: sent flagged ephemeral, never a cursor's position or a sync point.
     */
    private final Map<Scope, AtomicLong> ephemeralIds = new ConcurrentHashMap<>();
    /** Where sessions read the store: on their event loop (embedded store) or on reader threads. */
    private volatile StoreReader reader = StoreReader.inline();
    /** Tells other nodes what changed here; a no-op on a single node. */
    private volatile ClusterBus bus = new LocalBus(() -> null);
    /** The bizType configurations this node applied: see {@link BizTypeConfigs}. */
    private final BizTypeConfigs configs;
    private final Maintenance maintenance;

    public SyncEngine(OplogStore oplogs, SyncPointStore syncPoints, BizTypeStore bizTypes, Clock clock,
                      int maxOplogsPerFrame, int maxFrameBytes) {
        this.oplogs = oplogs;
        this.syncPoints = syncPoints;
        this.clock = clock;
        this.configs = new BizTypeConfigs(bizTypes);
        this.poison = new PoisonCutoff(syncPoints, metrics);
        this.maintenance = new Maintenance(oplogs, bizTypes, configs, clock);
        // half the cap leaves room for framing and for our estimate being off
        int frameBudgetBytes = maxFrameBytes / 2;
        this.dispatcher = new Dispatcher(oplogs, maxOplogsPerFrame, frameBudgetBytes);
        this.sessionWiring = new SessionWiring(oplogs, syncPoints, clock, maxOplogsPerFrame, frameBudgetBytes);
        oplogs.onCommit(dispatcher::committed);
        // before trimming: a failing trimming lookup must not keep other nodes from hearing of the commit
        oplogs.onCommit(this::announceCommit);
        oplogs.onCommit(maintenance::noteTrimming);
        oplogs.onCommit(committed -> commitBatches.incrementAndGet());
        maintenance.startTrimming();
    }

    /**
     * A push to one user or device ({@code linkToken}) or, with a null linkToken, to everyone.
     *
     * @param validTimeStart epoch millis before which it is not delivered (0: none)
     * @param validTimeEnd   epoch millis after which it is not delivered (0: none)
     * @param filter         which devices get it
     */
    public record Push(String bizType, String linkToken, String payload, String thirdMsgId, long validTimeStart,
                       long validTimeEnd, DeliveryFilter filter) {

        public Push {
            filter = filter == null ? DeliveryFilter.NONE : filter;
        }

        public Push(String bizType, String linkToken, String payload, String thirdMsgId) {
            this(bizType, linkToken, payload, thirdMsgId, 0, 0, DeliveryFilter.NONE);
        }
    }

    /**
     * What a push did.
     *
     * @param resultCode OK or DUPLICATED_BIZ_ID
     * @param oplogId    the stored oplog's id (for a duplicate, the first one's); for a
     *                   non-persistent bizType, the id the online sessions got
     * @param delivered  non-persistent bizTypes: how many sessions it reached; -1 otherwise
     */
    public record PushOutcome(String resultCode, long oplogId, int delivered) {
    }

    /**
     * Why a push was refused before anything was stored. The engine names the reason; how an API
     * answers it (an HTTP status, a gRPC reply) is the API's business.
     */
    public static final class PushRefused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /** The reasons; each name is the resultCode the APIs answer with. */
        public enum Reason { BIZ_TYPE_NOT_FOUND, CONFIG_OFFLINE, RANGE_MISMATCH }

        private final Reason reason;

        public PushRefused(Reason reason, String message) {
            super(message);
            this.reason = reason;
        }

        public Reason reason() {
            return reason;
        }

        public String resultCode() {
            return reason.name();
        }
    }

    /**
     * Stores the push; the future completes once it is durable. A push of a non-persistent
     * bizType is not stored: it goes to the sessions online now and the outcome says how many.
     *
     * @throws PushRefused when the bizType is unknown, OFFLINE, or does not take this kind of push
     */
    public CompletableFuture<PushOutcome> push(Push push) {
        // from the config cache (kept current by this node's changes, the bus and reconciliation):
        // no store read per push; only a bizType this node never read is loaded, see knowsBizType
        BizType bizType = bizType(push.bizType()).orElseThrow(() -> new PushRefused(PushRefused.Reason.BIZ_TYPE_NOT_FOUND,
                "bizType '" + push.bizType() + "' does not exist; create it with POST /api/v1/biz-types"));
        if (!bizType.online()) {
            throw new PushRefused(PushRefused.Reason.CONFIG_OFFLINE, "bizType '" + bizType.id()
                    + "' is OFFLINE; set its status to ONLINE to push again");
        }
        boolean global = push.linkToken() == null;
        if (global && bizType.range() != BizType.Range.GLOBAL) {
            throw new PushRefused(PushRefused.Reason.RANGE_MISMATCH, "bizType '" + bizType.id()
                    + "' has range APPOINTED; push to a user or device with POST /api/v1/push");
        }
        if (!global && bizType.range() == BizType.Range.GLOBAL) {
            throw new PushRefused(PushRefused.Reason.RANGE_MISMATCH, "bizType '" + bizType.id()
                    + "' has range GLOBAL; push with POST /api/v1/push/global");
        }
        Scope scope = bizType.scopeForLinkToken(push.linkToken());
        long now = clock.millis();
        if (!bizType.persistent()) {
            return CompletableFuture.completedFuture(pushEphemeral(scope, push, now));
        }
        return oplogs.append(new AppendRequest(scope, global ? "" : push.linkToken(), push.payload(),
                push.thirdMsgId(), now, push.validTimeStart(), push.validTimeEnd(), push.filter()))
                .thenApply(r -> new PushOutcome(r.duplicate() ? "DUPLICATED_BIZ_ID" : "OK", r.oplog().id(), -1));
    }

    private PushOutcome pushEphemeral(Scope scope, Push push, long now) {
        // microseconds of the clock, or one more than the last: grows across restarts too
        long id = ephemeralIds.computeIfAbsent(scope, s -> new AtomicLong())
                .updateAndGet(last -> Math.max(last + 1, now * 1000));
        Oplog oplog = new Oplog(scope, id, push.payload(), push.thirdMsgId(), now, push.validTimeStart(),
                push.validTimeEnd(), push.filter());
        if (!oplog.validAt(now)) {
            // outside its window now, and never stored: it reaches nobody
            return new PushOutcome("OK", id, 0);
        }
        // flagged ephemeral, epoch 0: its clock id is no oplog id, never a sync point
        ByteBuf frame = WireFrames.encoded(WireFrames.batchFor(scope, 0).setEphemeral(true)
                .addOplogs(WireFrames.toWire(oplog)));
        int reached = 0;
        try {
            for (Session session : dispatcher.subscribers(scope)) {
                if (push.filter().isNone() || push.filter().matches(session.osType(), session.appVersion(), session.userId())) {
                    session.ephemeral(scope, oplog, frame.retainedDuplicate());
                    reached++;
                }
            }
        } finally {
            frame.release();
        }
        return new PushOutcome("OK", id, reached);
    }

    /** Registers a listener for acks that move a sync point forward. */
    public void addAckListener(AckListener listener) {
        ackListeners.add(listener);
    }

    /**
     * Whether {@link #bizType} (and so {@link #push}) answers for this id from the cache, without
     * reading the store: callers on an event loop read an unknown id on a worker first.
     */
    public boolean knowsBizType(String id) {
        return configs.knows(id);
    }

    /** The configuration of a bizType, if it exists, as this node last applied it. */
    public Optional<BizType> bizType(String id) {
        return configs.get(id);
    }

    /** Which devices acknowledged how far in a scope, and when: the delivery status of its oplogs. */
    public List<SyncPointStore.DeviceSyncPoint> deliveryStatus(Scope scope) {
        return syncPoints.list(scope);
    }

    /** The sync point a device (or {@link SyncPointStore#USER_OWNED}) acknowledged in a scope, 0 when none. */
    public long syncPoint(String deviceId, Scope scope) {
        return syncPoints.get(deviceId, scope);
    }

    /** The sync point, with its epoch, a device (or {@link SyncPointStore#USER_OWNED}) acknowledged in a scope. */
    public SyncPointStore.Position syncPosition(String deviceId, Scope scope) {
        return syncPoints.position(deviceId, scope);
    }

    /** Whether any oplog of the bizType is still stored. */
    public boolean hasData(String bizTypeId) {
        return oplogs.hasData(bizTypeId);
    }

    /**
     * A configuration was created, changed or deleted: connected sessions follow it (an OFFLINE
     * bizType pauses, ONLINE resumes from where each device stands). A deleted bizType's
     * oplogs are deleted too, so that a bizType created later with the same id starts empty.
     */
    public void configChanged(String bizTypeId) {
        Optional<BizType> now = configs.refresh(bizTypeId);
        if (now.isEmpty()) {
            oplogs.deleteData(bizTypeId);
        }
        applyToSessions(bizTypeId, now);
        bus.configChanged(bizTypeId);
    }

    /**
     * Puts the engine on a cluster bus: this node's commits are announced on it, and the
     * sessions here follow the scopes and bizTypes other nodes change. Call before sessions open.
     */
    public void useBus(ClusterBus bus) {
        this.bus = bus;
        dispatcher.expectRemoteCommits();
        bus.onAdvanced(dispatcher::announced);
        bus.onConfigChanged(this::remoteConfigChange);
    }

    private void announceCommit(List<Oplog> committed) {
        ClusterBus current = bus;
        if (current instanceof LocalBus) {
            return;
        }
        Map<Scope, Long> heads = new LinkedHashMap<>();
        for (Oplog oplog : committed) {
            heads.merge(oplog.scope(), oplog.id(), Math::max);
        }
        current.advanced(heads);
    }

    /**
     * Another node changed the bizType: sessions here follow it. A deletion deletes no data
     * here: the node that handled the DELETE did that, and by now the id may have been created
     * again with new, acknowledged pushes.
     */
    private void remoteConfigChange(String bizTypeId) {
        applyToSessions(bizTypeId, configs.refresh(bizTypeId));
    }

    private void applyToSessions(String bizTypeId, Optional<BizType> now) {
        for (Session session : sessions) {
            try {
                session.channel().eventLoop().execute(() -> session.configChanged(bizTypeId, now.orElse(null)));
            } catch (RuntimeException rejected) {
                // the event loop is shutting down with the session
            }
        }
    }

    /**
     * Compares every bizType configuration in the store with the one this node applied and
     * applies those that changed or disappeared: a config change whose bus message was lost
     * still reaches the sessions here. Called by the cluster's reconciliation, off the event
     * loops; deletes no data (see {@link #remoteConfigChange}).
     *
     * @return how many configurations were applied
     */
    public int reconcileConfigs() {
        return configs.reconcile(this::applyToSessions);
    }

    /**
     * Opens a session for a verified client: resolves the scopes of its bizTypes and reads the
     * stored sync points. Runs on a {@link StoreReader} (it reads the store); the session is the
     * caller's alone until {@link #start}, on its event loop, subscribes it and begins the catch-up.
     */
    public Session open(Channel channel, ClientToken token, Hello hello, int version, List<String> unknownBizTypes) {
        Map<String, SyncPointStore.Position> clientPoints = new HashMap<>();
        for (SyncPoint point : hello.getSyncPointsList()) {
            // a version 1 client knows no epochs, whatever the field holds
            long epoch = version >= io.mss.protocol.ProtocolVersion.EPOCHS ? point.getEpoch() : 0;
            clientPoints.put(point.getBizType() + '|' + point.getScope().name(),
                    new SyncPointStore.Position(epoch, point.getId()));
        }
        Session session = new Session(this, channel, new SessionIdentity(UUID.randomUUID().toString(),
                token.deviceId(), token.userId(), hello.getOsType(), hello.getAppVersion(), version), sessionWiring);
        for (String id : new LinkedHashSet<>(hello.getBizTypesList())) {
            Optional<BizType> found = bizType(id);
            if (found.isEmpty()) {
                unknownBizTypes.add(id);
                session.await(id);
                continue;
            }
            BizType bizType = found.get();
            Scope scope = bizType.scopeForDevice(token.userId(), token.deviceId());
            if (scope == null) {
                continue; // a USER bizType on a device nobody is signed in on
            }
            if (bizType.singleDevice()) {
                // one sync point for the user, whatever this device thinks it has
                session.addCursor(bizType, scope, SyncPointStore.USER_OWNED,
                        syncPoints.position(SyncPointStore.USER_OWNED, scope));
                continue;
            }
            SyncPointStore.Position fromClient = clientPoints.get(id + '|' + WireFrames.kindOf(scope.kind()).name());
            SyncPointStore.Position start = fromClient != null ? fromClient : syncPoints.position(token.deviceId(), scope);
            session.addCursor(bizType, scope, token.deviceId(), start);
        }
        return session;
    }

    /**
     * Sessions read the store through {@code reader} from now on: a pooled one for a store whose
     * reads wait for the network. Set before the gateway accepts connections.
     */
    public void useReader(StoreReader reader) {
        this.reader = java.util.Objects.requireNonNull(reader, "reader");
    }

    /** How sessions read the store. */
    public StoreReader reader() {
        return reader;
    }

    /**
     * Subscribes the session to its scopes, then starts its catch-up. Runs on its event loop; the
     * future completes there once the catch-up began, or fails if the store could not be read.
     */
    public CompletableFuture<Void> start(Session session) {
        for (Cursor cursor : session.cursorList()) {
            if (cursor.bizType.singleDevice()) {
                holdSingleDevice(cursor.scope, session);
            }
            dispatcher.subscribe(cursor.scope, session);
        }
        sessions.add(session);
        return session.start();
    }

    /**
     * A bizType the session's client registered was created (again) while it is connected: the
     * session reads its scope from where the store says the device stands (the epoch checks of a
     * handshake apply). Runs on the session's event loop.
     */
    void attach(Session session, BizType bizType) {
        Scope scope = bizType.scopeForDevice(session.userId(), session.deviceId());
        if (scope == null) {
            return; // a USER bizType on a connection nobody is signed in on
        }
        String owner = bizType.singleDevice() ? SyncPointStore.USER_OWNED : session.deviceId();
        reader.read(session.channel().eventLoop(), () -> syncPoints.position(owner, scope)).whenComplete((start, error) -> {
            if (error != null) {
                log.warn("session {} could not read its sync point of {}: {}; it reads it from the next connection",
                        session.sessionId(), scope, error.toString());
                session.await(bizType.id());
                return;
            }
            attached(session, bizType, scope, owner, start);
        });
    }

    /** {@link #attach}, once the sync point is in; on the session's event loop. */
    private void attached(Session session, BizType read, Scope scope, String owner, SyncPointStore.Position start) {
        if (session.closed() || session.reads(read.id()) || session.awaits(read.id())) {
            return; // gone meanwhile, attached already, or deleted again (its next creation attaches it)
        }
        // the configuration as it is now: a change heard during the read found no cursor to update
        BizType bizType = bizType(read.id()).orElse(read);
        if (bizType.singleDevice()) {
            holdSingleDevice(scope, session);
        }
        // subscribed before its head is read, as at the handshake: no commit falls between
        dispatcher.subscribe(scope, session);
        session.attach(bizType, scope, owner, start);
    }

    /**
     * {@code session}'s device is the user's newest in a single-device scope: the device that held
     * it is handed over, on its own event loop.
     */
    private void holdSingleDevice(Scope scope, Session session) {
        Session previous = singleDeviceHolders.put(scope, session);
        if (previous != null && previous != session) {
            previous.channel().eventLoop().execute(() -> previous.handOver(scope));
        }
    }

    public void close(Session session) {
        session.markClosed();
        for (Scope scope : session.scopes()) {
            dispatcher.unsubscribe(scope, session);
            singleDeviceHolders.remove(scope, session);
        }
        sessions.remove(session);
    }

    void unsubscribe(Scope scope, Session session) {
        dispatcher.unsubscribe(scope, session);
        singleDeviceHolders.remove(scope, session);
    }

    /**
     * Counts a delivery of the first unacked oplog of a scope to a device; true when it has
     * been sent {@value #POISON_CUTOFF_ATTEMPTS} times already, and the device skips it.
     */
    boolean poisoned(Session session, Cursor cursor, Oplog oplog) {
        return poison.poisoned(session.deviceId(), cursor, oplog);
    }

    /** How many durable group commits stored new oplogs since start (one fsync each). */
    public long commitBatches() {
        return commitBatches.get();
    }

    /** How many oplogs were skipped by the poison cutoff since start. */
    public long poisonCutoffs() {
        return poison.cutoffs();
    }

    void acked(Session session, Scope scope, long syncPoint) {
        poison.acked(session.deviceId(), scope, syncPoint);
        long now = clock.millis();
        metrics.acked();
        for (AckListener listener : ackListeners) {
            try {
                listener.acked(session.deviceId(), session.userId(), scope, syncPoint, now);
            } catch (RuntimeException e) {
                log.warn("ack listener {} failed", listener, e);
            }
        }
    }

    Logger events() {
        return events;
    }

    /** Deletes expired oplogs every {@code interval}, first right away. */
    public void startRetentionPurge(Duration interval) {
        maintenance.startRetentionPurge(interval);
    }

    /** One pass of the retention purge; returns how many oplogs were deleted. */
    public long purgeExpired() {
        return maintenance.purgeExpired();
    }

    public int sessionCount() {
        return sessions.size();
    }

    /** The sessions open right now, for lookups and tests; each one's state belongs to its event loop. */
    public Collection<Session> sessions() {
        return Collections.unmodifiableSet(sessions);
    }

    /** The node's meters; sessions, the gateway, the store and the API count into them. */
    public MssMetrics metrics() {
        return metrics;
    }

    public Dispatcher dispatcher() {
        return dispatcher;
    }

    /** The highest oplog id of a scope, 0 when none. */
    public long lastId(Scope scope) {
        return oplogs.lastId(scope);
    }

    /** The scope's epoch and highest oplog id. */
    public io.mss.server.store.ScopeHead head(Scope scope) {
        return oplogs.head(scope);
    }

    @Override
    public void close() {
        maintenance.close();
        reader.close();
        metrics.close();
    }
}
