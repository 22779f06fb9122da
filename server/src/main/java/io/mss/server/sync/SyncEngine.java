package io.mss.server.sync;

import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.SyncPoint;
import io.mss.server.auth.ClientToken;
import io.mss.server.biz.BizType;
import io.mss.server.store.AppendRequest;
import io.mss.server.store.DeliveryFilter;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.OplogStore;
import io.mss.server.store.Scope;
import io.mss.server.store.SyncPointStore;
import io.netty.channel.Channel;

import java.time.Clock;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Appends pushes, and opens and closes sessions. Pushes become oplogs in the store; the
 * store's commit listener feeds the {@link Dispatcher}, which hands them to sessions.
 */
public final class SyncEngine {
    private final OplogStore oplogs;
    private final SyncPointStore syncPoints;
    private final BizTypeStore bizTypes;
    private final Dispatcher dispatcher;
    private final Clock clock;
    private final int maxOplogsPerFrame;
    private final int frameBudgetBytes;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final List<AckListener> ackListeners = new CopyOnWriteArrayList<>();

    public SyncEngine(OplogStore oplogs, SyncPointStore syncPoints, BizTypeStore bizTypes, Clock clock,
                      int maxOplogsPerFrame, int maxFrameBytes) {
        this.oplogs = oplogs;
        this.syncPoints = syncPoints;
        this.bizTypes = bizTypes;
        this.clock = clock;
        this.maxOplogsPerFrame = maxOplogsPerFrame;
        // half the cap leaves room for framing and for our estimate being off
        this.frameBudgetBytes = maxFrameBytes / 2;
        this.dispatcher = new Dispatcher(maxOplogsPerFrame, frameBudgetBytes);
        oplogs.onCommit(dispatcher::committed);
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

    /** Why a push was refused before anything was stored. */
    public static final class PushRefused extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String resultCode;
        private final int status;

        public PushRefused(int status, String resultCode, String message) {
            super(message);
            this.status = status;
            this.resultCode = resultCode;
        }

        public String resultCode() {
            return resultCode;
        }

        public int status() {
            return status;
        }
    }

    /**
     * Stores the push; the future completes once it is durable.
     *
     * @throws PushRefused when the bizType is unknown or does not take this kind of push
     */
    public CompletableFuture<PushOutcome> push(Push push) {
        BizType bizType = bizTypes.get(push.bizType()).orElseThrow(() -> new PushRefused(404,
                "BIZ_TYPE_NOT_FOUND", "bizType '" + push.bizType() + "' does not exist; create it with POST /api/v1/biz-types"));
        boolean global = push.linkToken() == null;
        if (global && bizType.range() != BizType.Range.GLOBAL) {
            throw new PushRefused(400, "RANGE_MISMATCH", "bizType '" + bizType.id()
                    + "' has range APPOINTED; push to a user or device with POST /api/v1/push");
        }
        if (!global && bizType.range() == BizType.Range.GLOBAL) {
            throw new PushRefused(400, "RANGE_MISMATCH", "bizType '" + bizType.id()
                    + "' has range GLOBAL; push with POST /api/v1/push/global");
        }
        Scope scope = bizType.scopeForLinkToken(push.linkToken());
        return oplogs.append(new AppendRequest(scope, global ? "" : push.linkToken(), push.payload(),
                push.thirdMsgId(), clock.millis(), push.validTimeStart(), push.validTimeEnd(), push.filter()))
                .thenApply(r -> new PushOutcome(r.duplicate() ? "DUPLICATED_BIZ_ID" : "OK", r.oplog().id(), -1));
    }

    /** Registers a listener for acks that move a sync point forward. */
    public void addAckListener(AckListener listener) {
        ackListeners.add(listener);
    }

    List<AckListener> ackListeners() {
        return ackListeners;
    }

    /** The configuration of a bizType, if it exists. */
    public Optional<BizType> bizType(String id) {
        return bizTypes.get(id);
    }

    /** Which devices acknowledged how far in a scope, and when: the delivery status of its oplogs. */
    public List<SyncPointStore.DeviceSyncPoint> deliveryStatus(Scope scope) {
        return syncPoints.list(scope);
    }

    /**
     * Opens a session for a verified client: resolves the scopes of its bizTypes, subscribes,
     * then starts the catch-up. Runs on the channel's event loop.
     */
    public Session open(Channel channel, ClientToken token, Hello hello, List<String> unknownBizTypes) {
        Map<String, Long> clientPoints = new HashMap<>();
        for (SyncPoint point : hello.getSyncPointsList()) {
            clientPoints.put(point.getBizType() + '|' + point.getScope().name(), point.getId());
        }
        Session session = new Session(channel, UUID.randomUUID().toString(), token.deviceId(), token.userId(),
                oplogs, syncPoints, clock, maxOplogsPerFrame, frameBudgetBytes);
        for (String id : new java.util.LinkedHashSet<>(hello.getBizTypesList())) {
            Optional<BizType> bizType = bizTypes.get(id);
            if (bizType.isEmpty()) {
                unknownBizTypes.add(id);
                continue;
            }
            Scope scope = bizType.get().scopeForDevice(token.userId(), token.deviceId());
            if (scope == null) {
                continue; // a USER bizType on a device nobody is signed in on
            }
            Long fromClient = clientPoints.get(id + '|' + Session.kindOf(scope.kind()).name());
            long start = fromClient != null ? fromClient : syncPoints.get(token.deviceId(), scope);
            session.addCursor(bizType.get(), scope, start);
        }
        return session;
    }

    /** Subscribes the session to its scopes, then starts its catch-up. */
    public void start(Session session) {
        for (Scope scope : session.scopes()) {
            dispatcher.subscribe(scope, session);
        }
        sessions.add(session);
        session.start();
    }

    public void close(Session session) {
        session.markClosed();
        for (Scope scope : session.scopes()) {
            dispatcher.unsubscribe(scope, session);
        }
        sessions.remove(session);
    }

    public int sessionCount() {
        return sessions.size();
    }

    /** The sessions open right now, for lookups and tests; each one's state belongs to its event loop. */
    public Collection<Session> sessions() {
        return Collections.unmodifiableSet(sessions);
    }

    public Dispatcher dispatcher() {
        return dispatcher;
    }

    /** The highest oplog id of a scope, 0 when none. */
    public long lastId(Scope scope) {
        return oplogs.lastId(scope);
    }
}
