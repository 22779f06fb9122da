package io.mss.server.sync;

import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.BizBatch;
import io.mss.protocol.v1.SyncData;
import io.mss.protocol.v1.SyncPoint;
import io.mss.server.biz.BizType;
import io.mss.server.store.Oplog;
import io.mss.server.store.OplogStore;
import io.mss.server.store.Scope;
import io.mss.server.store.ScopeHead;
import io.mss.server.store.StoreException;
import io.mss.server.store.SyncPointStore;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One connected app install: what it reads (a cursor per scope), what was sent, what was
 * acknowledged.
 *
 * <p>Threading: every method except {@link #live}, {@link #ephemeral} and the getters runs on
 * the channel's event loop, and those only hop onto it, so the state here needs no locks.
 *
 * <p>Flow: at the handshake, every cursor starts at the client's sync point and the session
 * sends everything above it, merged across bizTypes, {@code hasMore} set until the backlog is
 * drained. Afterwards committed oplogs arrive through {@link #live}. Reads from the store only
 * happen while the channel is writable, so a slow reader costs at most the write buffer's
 * high-water mark plus one frame of memory; the rest waits in the store.
 *
 * <p>Per oplog, at delivery: an OFFLINE bizType pauses its cursor; an oplog whose validity
 * window has not opened holds its cursor until it opens (order is kept); an expired one, or
 * one whose filter does not match this device, is skipped. A cursor that finds a gap (oplogs
 * trimmed or purged before this device got them) tells the client FULL_UPDATE. A read never
 * delivers above the cursor's {@code knownHead} (the head a writer announced or the store
 * reported): a row that is visible but was never announced may be one no standby holds.
 *
 * <p>Stream identity: a cursor is on one timeline of its scope (its epoch, see
 * {@link io.mss.server.store.ScopeHead}). A position the client (or the store) brings that is on
 * another epoch, or above the scope's head, is never resumed: the client is told FULL_UPDATE with
 * {@code restart} and the cursor starts over at the retained start of the current timeline, as a
 * new device would. The same for an ack of an unknown epoch or above the head, and for a live
 * commit on a new timeline. Non-persistent pushes never move a cursor.
 *
 * <p>Store reads (the heads at start, the oplogs of a drain, the head check of an ack above what
 * the session knows, the head after a config change) go through the engine's {@link StoreReader}:
 * on PostgreSQL they run on reader threads and their answers come back on the event loop; on the
 * embedded store they run inline, where a read takes microseconds and a hop would cost more.
 * A cursor is {@code starting} until its head is in: it sends nothing, live commits only raise
 * its known head, and acks for it wait (compared with a cursor of no timeline yet they would
 * restart it for nothing).
 *
 * <p>Pieces: each scope's position is a {@link Cursor}; the frames it writes are built by
 * {@link WireFrames} and filled up to a {@link FrameBudget}; who it is comes as a
 * {@link SessionIdentity}, the stores and limits as the engine's {@link SessionWiring}.
 */
public final class Session {
    private static final Logger log = LoggerFactory.getLogger(Session.class);

    private final SyncEngine engine;
    private final Channel channel;
    private final SessionIdentity identity;
    private final OplogStore oplogs;
    private final SyncPointStore syncPoints;
    private final Clock clock;
    private final int maxOplogsPerFrame;
    private final int frameBudgetBytes;
    /** By bizType; iteration order is the merge order of catch-up frames. */
    private final Map<String, Cursor> cursors = new LinkedHashMap<>();
    private final Map<Scope, Cursor> byScope = new LinkedHashMap<>();
    /** BizTypes the client registered that do not exist (unknown at Hello, or deleted since): read once created. */
    private final java.util.Set<String> awaitedBizTypes = new java.util.HashSet<>();
    private boolean catchingUp = true;
    /** The heads of the handshake's cursors are in: before that the catch-up has not begun. */
    private boolean started;
    /** Acks for cursors whose heads are being read, the latest per bizType (acks are cumulative): taken once they are in. */
    private final Map<String, SyncPoint> acksBeforeStart = new LinkedHashMap<>();
    /** The drain's store reads; off the event loop on a remote store. */
    private final ReadAhead readAhead;
    private boolean closed;
    private boolean wakeUpScheduled;
    private final long connectedAt = System.currentTimeMillis();
    /** Oplogs written during the catch-up, for its size distribution. */
    private long catchupOplogs;
    /** Committed and not yet acked, over all scopes: written on the event loop, read by the metrics. */
    private volatile long backlog;

    Session(SyncEngine engine, Channel channel, SessionIdentity identity, SessionWiring wiring) {
        this.engine = engine;
        this.channel = channel;
        this.identity = identity;
        this.oplogs = wiring.oplogs();
        this.syncPoints = wiring.syncPoints();
        this.clock = wiring.clock();
        this.maxOplogsPerFrame = wiring.maxOplogsPerFrame();
        this.frameBudgetBytes = wiring.frameBudgetBytes();
        this.readAhead = new ReadAhead(engine.reader(), oplogs, channel.eventLoop(), maxOplogsPerFrame);
    }

    void addCursor(BizType bizType, Scope scope, String syncPointOwner, SyncPointStore.Position start) {
        Cursor cursor = new Cursor(bizType, scope, syncPointOwner, start);
        cursors.put(bizType.id(), cursor);
        byScope.put(scope, cursor);
    }

    /** The client registered {@code bizTypeId}, which does not exist now. */
    void await(String bizTypeId) {
        awaitedBizTypes.add(bizTypeId);
    }

    Iterable<Scope> scopes() {
        return List.copyOf(byScope.keySet());
    }

    Iterable<Cursor> cursorList() {
        return List.copyOf(cursors.values());
    }

    /**
     * Starts the catch-up; call on the event loop after subscribing to every scope so no commit
     * falls between. The future completes on the event loop once the catch-up began, or fails when
     * the heads could not be read.
     */
    CompletableFuture<Void> start() {
        return startCursors(List.copyOf(cursors.values())).thenRun(() -> {
            started = true;
            drain();
        });
    }

    /** Reads the cursors' heads through the engine's reader, then starts them on the event loop. */
    private CompletableFuture<Void> startCursors(List<Cursor> starting) {
        return engine.reader().read(channel.eventLoop(), () -> {
            List<ScopeHead> heads = new ArrayList<>(starting.size());
            for (Cursor cursor : starting) {
                heads.add(oplogs.head(cursor.scope));
            }
            return heads;
        }).thenAccept(heads -> {
            for (int i = 0; i < starting.size(); i++) {
                Cursor cursor = starting.get(i);
                if (byScope.get(cursor.scope) == cursor) {
                    startCursor(cursor, heads.get(i));
                }
            }
            if (!acksBeforeStart.isEmpty()) {
                Ack held = Ack.newBuilder().addAllSyncPoints(acksBeforeStart.values()).build();
                acksBeforeStart.clear();
                onAck(held);
            }
        });
    }

    /**
     * Checks where the cursor starts against the scope's head: a position of another timeline,
     * or above the head, is not resumed (FULL_UPDATE with restart); a backlog above a THRESHOLD
     * is cut to its newest n.
     */
    private void startCursor(Cursor cursor, ScopeHead head) {
        cursor.starting = false;
        // commits heard while the head was read count too
        cursor.knownHead = Math.max(cursor.knownHead, head.lastId());
        if (!cursor.bizType.persistent() && identity.version() < ProtocolVersion.EPOCHS) {
            // a version 1 client keeps the clock ids of ephemeral pushes as its sync point: that
            // says nothing about the stored timeline, so it is only clamped to what exists
            cursor.clampTo(head.lastId());
            cursor.epoch = head.epoch();
        } else if (cursor.startEpoch != 0 && cursor.startEpoch != head.epoch()) {
            cursor.epoch = cursor.startEpoch;
            restart(cursor, head.epoch(), "epoch", "sync point " + cursor.sentUpTo + " of epoch "
                    + cursor.startEpoch + " is from another timeline than the scope's (epoch " + head.epoch() + ")");
        } else if (cursor.sentUpTo > head.lastId()) {
            cursor.epoch = cursor.startEpoch;
            restart(cursor, head.epoch(), "above_head", "sync point " + cursor.sentUpTo
                    + " is above the scope's last oplog " + head.lastId() + " (a restored or replaced store?)");
        } else {
            cursor.epoch = head.epoch();
        }
        cursor.epochSince = System.nanoTime();
        cutToThreshold(cursor);
    }

    /** A THRESHOLD bizType's cursor too far behind takes the newest n; the app reloads the rest from its backend. */
    private void cutToThreshold(Cursor cursor) {
        BizType bizType = cursor.bizType;
        if (bizType.rePushMode() == BizType.RePushMode.THRESHOLD
                && cursor.knownHead - cursor.sentUpTo > bizType.rePushThreshold()) {
            cursor.sentUpTo = cursor.knownHead - bizType.rePushThreshold();
            if (!cursor.fullUpdateSent) {
                fullUpdate(cursor, "threshold", "backlog above the re-push threshold of "
                        + bizType.rePushThreshold(), false);
            }
        }
    }

    /**
     * A bizType the client registered was created (again) while it is connected: the session
     * reads it from now on, from where the store says this device stands. Runs on the event loop.
     */
    void attach(BizType bizType, Scope scope, String syncPointOwner, SyncPointStore.Position start) {
        Cursor cursor = new Cursor(bizType, scope, syncPointOwner, start);
        cursors.put(bizType.id(), cursor);
        byScope.put(scope, cursor);
        startCursors(List.of(cursor)).whenComplete((done, error) -> {
            if (error != null) {
                log.warn("session {} could not read the head of {}: {}; it reads it from the next connection",
                        identity.sessionId(), scope, error.toString());
                if (cursors.remove(bizType.id(), cursor)) {
                    byScope.remove(scope);
                    engine.unsubscribe(scope, this);
                }
                return;
            }
            drain();
            channel.flush();
        });
    }

    /**
     * The cursor's position is on no timeline the scope has: tell the client FULL_UPDATE with
     * restart and start over where a new device would, on {@code epoch}. The stored sync point is
     * replaced too, so that a later connection without the client's own does not resume it.
     */
    private void restart(Cursor cursor, long epoch, String reason, String detail) {
        cursor.startOver(epoch);
        readAhead.forget(cursor);
        fullUpdate(cursor, reason, detail, true);
        cutToThreshold(cursor);
        if (cursor.bizType.persistent()) {
            try {
                syncPoints.reset(cursor.syncPointOwner, cursor.scope, epoch, 0);
            } catch (StoreException e) {
                // the client starts over all the same; the next ack stores where it stands
                log.warn("session {} could not reset the sync point of {}: {}", identity.sessionId(), cursor.scope,
                        e.getMessage());
            }
        }
    }

    /**
     * Oplogs of {@code epoch} reached the cursor: a cursor without a timeline yet takes it (the
     * scope's first oplog started it); on another one the cursor starts over.
     *
     * @return whether the cursor was restarted
     */
    private boolean follow(Cursor cursor, long epoch) {
        if (epoch == cursor.epoch || epoch == 0) {
            return false;
        }
        if (cursor.epoch == 0) {
            // the cursor's timeline was not known (the scope had no oplog, or no epoch yet): this is it
            cursor.epoch = epoch;
            cursor.epochSince = System.nanoTime();
            return false;
        }
        restart(cursor, epoch, "epoch", "the scope started a new timeline (epoch " + epoch + ") after epoch "
                + cursor.epoch);
        return true;
    }

    public String sessionId() {
        return identity.sessionId();
    }

    public String deviceId() {
        return identity.deviceId();
    }

    public String userId() {
        return identity.userId();
    }

    public String osType() {
        return identity.osType();
    }

    public String appVersion() {
        return identity.appVersion();
    }

    public Channel channel() {
        return channel;
    }

    /** Bytes written to the channel and not yet handed to the socket: what a slow reader costs us. */
    public long pendingOutboundBytes() {
        var buffer = channel.unsafe().outboundBuffer();
        return buffer == null ? 0 : buffer.totalPendingWriteBytes();
    }

    /**
     * Committed oplogs of one scope, ascending. Called on the store's commit thread; takes
     * ownership of {@code frame}, the same oplogs already encoded.
     */
    void live(Scope scope, List<Oplog> run, ByteBuf frame) {
        try {
            channel.eventLoop().execute(() -> onLive(scope, run, frame));
        } catch (RuntimeException rejected) {
            // the event loop is shutting down; the session is going away anyway
            frame.release();
        }
    }

    private void onLive(Scope scope, List<Oplog> run, ByteBuf frame) {
        Cursor cursor = byScope.get(scope);
        if (closed || cursor == null) {
            frame.release();
            return;
        }
        cursor.knownHead = Math.max(cursor.knownHead, run.get(run.size() - 1).id());
        if (cursor.starting) {
            // the catch-up reads it; which timeline it is on is decided against the head then
            frame.release();
            return;
        }
        if (follow(cursor, run.get(0).epoch())) {
            frame.release();
            drain();
            channel.flush();
            return;
        }
        long first = run.get(0).id();
        long last = run.get(run.size() - 1).id();
        cursor.knownHead = Math.max(cursor.knownHead, last);
        boolean upToDate = cursor.sentUpTo == first - 1 && cursor.firstSent;
        if (!catchingUp && upToDate && channel.isWritable() && allDeliverable(cursor, run)) {
            cursor.sentUpTo = last;
            cursor.lastWritten = last;
            channel.writeAndFlush(frame, channel.voidPromise());
            long now = clock.millis();
            run.forEach(oplog -> counted(oplog, now));
            updateBacklog();
            return;
        }
        frame.release();
        drain();
    }

    /**
     * The scope advanced to {@code head} on another node (or the reconciliation found it
     * there). Called on any thread. Reading from the store above {@code sentUpTo} is what drops
     * the ids this session already sent.
     */
    void advanced(Scope scope, long head) {
        try {
            channel.eventLoop().execute(() -> {
                Cursor cursor = byScope.get(scope);
                // against sentUpTo, not knownHead: a drain that failed (store away) is retried
                if (closed || cursor == null || head <= cursor.sentUpTo) {
                    return;
                }
                cursor.knownHead = Math.max(cursor.knownHead, head);
                drain();
            });
        } catch (RuntimeException rejected) {
            // the event loop is shutting down; the session is going away anyway
        }
    }

    /**
     * The scope's head, read from the store by the reconciliation, is on timeline {@code epoch}:
     * a cursor on another one starts over on it, as at a live commit of the new timeline. This is
     * how a session learns of a new timeline no push has announced yet (a writer whose commit was
     * never answered starts one, see the PostgreSQL store). A read that started before the cursor
     * took its epoch (at its start, or at a restart) may be from before a switch the cursor already
     * followed: it changes nothing, nor does a head of the epoch the cursor just left. Called on
     * any thread.
     *
     * @param readStarted {@link System#nanoTime} when the head read started
     */
    void timeline(Scope scope, long epoch, long readStarted) {
        try {
            channel.eventLoop().execute(() -> {
                Cursor cursor = byScope.get(scope);
                if (closed || cursor == null || cursor.starting || !cursor.bizType.persistent()
                        || cursor.epoch == 0 || epoch == cursor.leftEpoch || readStarted - cursor.epochSince < 0) {
                    return;
                }
                if (follow(cursor, epoch)) {
                    drain();
                    channel.flush();
                }
            });
        } catch (RuntimeException rejected) {
            // the event loop is shutting down; the session is going away anyway
        }
    }

    /** A push of a non-persistent bizType: to this session now, or never. Called on any thread. */
    void ephemeral(Scope scope, Oplog oplog, ByteBuf frame) {
        try {
            channel.eventLoop().execute(() -> {
                Cursor cursor = byScope.get(scope);
                if (closed || cursor == null || !cursor.bizType.online() || !deliverable(cursor, oplog, clock.millis())) {
                    frame.release();
                    return;
                }
                // its id is no oplog id of the timeline: the cursor stays where the durable ones are
                channel.writeAndFlush(frame, channel.voidPromise());
                engine.metrics().delivered(1);
            });
        } catch (RuntimeException rejected) {
            frame.release();
        }
    }

    /** The configuration changed (null: deleted). Runs on the event loop. */
    void configChanged(String bizTypeId, BizType bizType) {
        Cursor cursor = cursors.get(bizTypeId);
        if (closed) {
            return;
        }
        if (cursor == null) {
            if (bizType != null && awaitedBizTypes.remove(bizTypeId)) {
                // registered by the client, and created (again) since: read it from now on
                engine.attach(this, bizType);
            }
            return;
        }
        if (bizType == null) {
            cursors.remove(bizTypeId);
            byScope.remove(cursor.scope);
            engine.unsubscribe(cursor.scope, this);
            awaitedBizTypes.add(bizTypeId);
            return;
        }
        cursor.bizType = bizType;
        if (bizType.online()) {
            engine.reader().read(channel.eventLoop(), () -> oplogs.lastId(cursor.scope)).whenComplete((last, error) -> {
                if (error != null) {
                    // the reconciliation finds the head later
                    log.warn("session {} could not read the head of {}: {}", identity.sessionId(), cursor.scope,
                            error.toString());
                    return;
                }
                cursor.knownHead = Math.max(cursor.knownHead, last);
                drain();
            });
        }
    }

    /** Another device of the user connected later: single-device scopes follow the newest one. */
    void handOver(Scope scope) {
        Cursor cursor = byScope.remove(scope);
        if (cursor != null) {
            cursors.remove(cursor.bizType.id());
            engine.unsubscribe(scope, this);
        }
    }

    /** Sends what is committed and not yet sent, for as long as the channel takes it. */
    public void drain() {
        if (closed || !started) {
            return;
        }
        boolean wrote = false;
        long now = clock.millis();
        long wakeAt = Long.MAX_VALUE;
        while (channel.isWritable()) {
            SyncData.Builder data = SyncData.newBuilder();
            FrameBudget budget = new FrameBudget(maxOplogsPerFrame, frameBudgetBytes);
            boolean progressed = false;
            // Every lagging scope gets its share of the frame: a backlog over several bizTypes
            // arrives interleaved, so the client's per-scope delivery runs for all of them at once
            // instead of one bizType after the other.
            int share = shareOfFrame(now);
            for (Cursor cursor : List.copyOf(cursors.values())) {
                if (!cursor.readable(now)) {
                    if (cursor.heldUntil > now) {
                        wakeAt = Math.min(wakeAt, cursor.heldUntil);
                    }
                    continue;
                }
                int room = budget.room(share);
                if (room <= 0) {
                    break;
                }
                List<Oplog> read = readAhead.take(cursor, room);
                if (read == null) {
                    continue; // being read: this drain runs again when it is in
                }
                if (read.isEmpty()) {
                    // not readable yet: the commit notification that follows will raise it again
                    cursor.knownHead = cursor.sentUpTo;
                    continue;
                }
                progressed = true;
                if (follow(cursor, read.get(0).epoch())) {
                    wrote = true;
                    continue; // read again from the start of the new timeline
                }
                if (read.get(0).id() > cursor.sentUpTo + 1 && !cursor.fullUpdateSent) {
                    long gapEnd = Math.min(read.get(0).id() - 1, cursor.knownHead);
                    fullUpdate(cursor, "gap", "oplogs " + (cursor.sentUpTo + 1) + ".." + gapEnd
                            + " were trimmed or expired before this device got them", false);
                    wrote = true;
                }
                if (read.get(0).id() > cursor.knownHead) {
                    // what the cursor knew of is gone; what the read found above is not announced yet
                    cursor.sentUpTo = cursor.knownHead;
                    readAhead.discard(cursor);
                    continue;
                }
                BizBatch.Builder batch = WireFrames.batchFor(cursor.scope, cursor.epoch);
                for (Oplog oplog : read) {
                    if (oplog.id() > cursor.knownHead) {
                        // Visible but announced by no writer: on PostgreSQL a commit that the
                        // failing primary made visible and the promoted standby never got, whose id
                        // the next push takes again (docs/cluster.md). Its announcement raises
                        // knownHead; what was read must not stay cached to be taken then.
                        readAhead.discard(cursor);
                        break;
                    }
                    long size = WireFrames.estimatedBytes(oplog);
                    if (!budget.fits(size)) {
                        break;
                    }
                    if (oplog.validFrom() > now) {
                        // order is kept: later oplogs of this scope wait for this one's window
                        cursor.heldUntil = oplog.validFrom();
                        wakeAt = Math.min(wakeAt, oplog.validFrom());
                        break;
                    }
                    if (!cursor.firstSent) {
                        cursor.firstSent = true;
                        if (engine.poisoned(this, cursor, oplog)) {
                            cursor.sentUpTo = oplog.id();
                            continue;
                        }
                    }
                    cursor.sentUpTo = oplog.id();
                    if (deliverable(cursor, oplog, now)) {
                        cursor.lastWritten = oplog.id();
                        // delivered past the last FULL_UPDATE: a later gap is told again
                        cursor.fullUpdateSent = false;
                        batch.addOplogs(WireFrames.toWire(oplog));
                        counted(oplog, now);
                        budget.add(size);
                    } else if (cursor.expiredByRetention(oplog, now) && !cursor.fullUpdateSent) {
                        // honest continuity: data this device never got is gone for it
                        fullUpdate(cursor, "retention", "oplogs older than " + cursor.bizType.retentionDays()
                                + " days expired before this device got them", false);
                        wrote = true;
                    }
                }
                if (batch.getOplogsCount() > 0) {
                    data.addBatches(batch);
                }
            }
            boolean more = lagging(now);
            if (catchingUp && !more) {
                // the last catch-up frame says so, even when it is empty
                catchingUp = false;
                engine.metrics().caughtUp(catchupOplogs);
                channel.write(WireFrames.syncData(data.setHasMore(false)), channel.voidPromise());
                wrote = true;
                break;
            }
            if (data.getBatchesCount() > 0) {
                data.setHasMore(catchingUp);
                channel.write(WireFrames.syncData(data), channel.voidPromise());
                wrote = true;
            }
            if (!progressed) {
                break;
            }
        }
        if (wrote) {
            channel.flush();
        }
        readAhead.fetchWanted(this::drain, identity.sessionId());
        updateBacklog();
        if (wakeAt != Long.MAX_VALUE && !wakeUpScheduled) {
            wakeUpScheduled = true;
            channel.eventLoop().schedule(() -> {
                wakeUpScheduled = false;
                drain();
            }, Math.max(1, wakeAt - clock.millis()), TimeUnit.MILLISECONDS);
        }
    }

    /** The oplogs one readable cursor may put into a frame: the frame's room divided among them. */
    private int shareOfFrame(long now) {
        return FrameBudget.shareOf(maxOplogsPerFrame, readableCursors(now));
    }

    private boolean lagging(long now) {
        return readableCursors(now) > 0;
    }

    private int readableCursors(long now) {
        int readable = 0;
        for (Cursor cursor : cursors.values()) {
            if (cursor.readable(now)) {
                readable++;
            }
        }
        return readable;
    }

    /**
     * @param reason  the metric's tag: threshold, gap, retention (ids go on) or epoch, above_head (restart)
     * @param restart whether the client's position is not on the cursor's timeline and it starts over
     */
    private void fullUpdate(Cursor cursor, String reason, String detail, boolean restart) {
        cursor.fullUpdateSent = true;
        engine.metrics().fullUpdate(reason);
        engine.events().info("full-update session={} device={} scope={} epoch={} restart={} reason=\"{}\"",
                identity.sessionId(), identity.deviceId(), cursor.scope, cursor.epoch, restart, detail);
        channel.write(WireFrames.fullUpdate(cursor, restart, detail), channel.voidPromise());
    }

    /** Cumulative acks: raises the stored sync points, never past what this session sent. */
    public void onAck(Ack ack) {
        onAck(ack, null);
    }

    /** {@code headRead}: the cursor whose knownHead was just read from the store for this ack. */
    private void onAck(Ack ack, Cursor headRead) {
        assert channel.eventLoop().inEventLoop() : "a session's acks belong to its event loop";
        for (SyncPoint point : ack.getSyncPointsList()) {
            Cursor cursor = cursors.get(point.getBizType());
            if (cursor == null || WireFrames.kindOf(cursor.scope.kind()) != point.getScope()) {
                log.debug("session {} acked {} {} which it does not read", identity.sessionId(), point.getBizType(),
                        point.getScope());
                continue;
            }
            if (cursor.starting) {
                if (!closed) {
                    acksBeforeStart.put(point.getBizType(), point);
                }
                continue;
            }
            if (!onTimeline(cursor, point, cursor == headRead)) {
                continue;
            }
            // an ack beyond what was sent would let a client skip data it never saw
            long id = Math.min(point.getId(), cursor.sentUpTo);
            if (point.getId() > cursor.sentUpTo) {
                engine.metrics().ackIgnored("clamped");
            }
            if (id > cursor.acked) {
                cursor.acked = id;
                if (cursor.bizType.persistent()) {
                    try {
                        syncPoints.advance(cursor.syncPointOwner, cursor.scope, cursor.epoch, id);
                    } catch (StoreException e) {
                        // the session goes on: the next ack carries this one, and the client keeps its own sync point
                        log.warn("session {} could not store sync point {} of {}: {}", identity.sessionId(), id,
                                cursor.scope, e.getMessage());
                    }
                    engine.acked(this, cursor.scope, id);
                }
            }
        }
        updateBacklog();
    }

    /**
     * Whether an acked position is on the cursor's timeline. One of another epoch (not the one
     * just left, whose acks raced the switch), or above the scope's head, restarts the cursor:
     * whatever the client holds is from no timeline the scope has. Version 1 clients send no
     * epoch, and acks of non-persistent pushes carry clock ids: those are only clamped.
     */
    private boolean onTimeline(Cursor cursor, SyncPoint point, boolean headRead) {
        if (identity.version() < ProtocolVersion.EPOCHS) {
            return true;
        }
        boolean foreign = point.getEpoch() != 0 && point.getEpoch() != cursor.epoch;
        boolean aboveHead = !foreign && point.getId() > cursor.knownHead;
        if (cursor.awaitingAck && (foreign || aboveHead)) {
            // sent before the client took the restart in, or repeated: one restart is enough
            engine.metrics().ackIgnored("raced");
            return false;
        }
        if (!foreign && !aboveHead) {
            cursor.awaitingAck = false;
        }
        if (foreign) {
            if (point.getEpoch() == cursor.leftEpoch) {
                engine.metrics().ackIgnored("raced");
                return false;
            }
            restart(cursor, cursor.epoch, "epoch", "ack of " + point.getId() + " on epoch " + point.getEpoch()
                    + ", not the scope's epoch " + cursor.epoch);
            drain();
            channel.flush();
            return false;
        }
        if (!aboveHead) {
            return true;
        }
        if (!headRead && !engine.reader().isInline()) {
            // whether the store has it is read off the loop; then the ack is taken again against that head
            engine.reader().read(channel.eventLoop(), () -> oplogs.lastId(cursor.scope)).whenComplete((last, error) -> {
                if (error != null) {
                    // the client's next ack carries it again
                    log.warn("session {} could not read the head of {}: {}", identity.sessionId(), cursor.scope,
                            error.toString());
                    return;
                }
                if (closed || cursors.get(point.getBizType()) != cursor) {
                    return;
                }
                cursor.knownHead = Math.max(cursor.knownHead, last);
                onAck(Ack.newBuilder().addSyncPoints(point).build(), cursor);
                drain();
            });
            return false;
        }
        if (headRead || point.getId() > oplogs.lastId(cursor.scope)) {
            restart(cursor, cursor.epoch, "above_head", "ack of " + point.getId()
                    + " is above the scope's last oplog " + cursor.knownHead);
            drain();
            channel.flush();
            return false;
        }
        return true;
    }

    /** Counts an oplog written to this session; one written live also times its delivery. */
    private void counted(Oplog oplog, long now) {
        engine.metrics().delivered(1);
        if (catchingUp) {
            catchupOplogs++;
        } else {
            // an oplog held for its validity window is late only from when it became valid
            engine.metrics().latency(now - Math.max(oplog.createdAt(), oplog.validFrom()));
        }
    }

    private void updateBacklog() {
        long sum = 0;
        for (Cursor cursor : cursors.values()) {
            sum += cursor.owed();
        }
        backlog = sum;
    }

    /** Oplogs committed in this session's scopes that its device has not acked, as last seen on its event loop. */
    public long backlog() {
        return backlog;
    }

    /** When the handshake completed, epoch milliseconds. */
    public long connectedAt() {
        return connectedAt;
    }

    /** Where one scope stands for this session. */
    public record ScopeState(String bizType, Scope scope, long sentUpTo, long knownHead, long acked, long epoch) {
    }

    /** Where each scope stands, read on the session's event loop (its state belongs to it). */
    public CompletableFuture<List<ScopeState>> scopeStates() {
        CompletableFuture<List<ScopeState>> states = new CompletableFuture<>();
        try {
            channel.eventLoop().execute(() -> {
                List<ScopeState> list = new ArrayList<>();
                for (Cursor cursor : cursors.values()) {
                    list.add(new ScopeState(cursor.bizType.id(), cursor.scope, cursor.sentUpTo, cursor.knownHead,
                            cursor.acked, cursor.epoch));
                }
                states.complete(list);
            });
        } catch (RuntimeException rejected) {
            states.complete(List.of()); // the event loop is shutting down with the session
        }
        return states;
    }

    void markClosed() {
        closed = true;
    }

    boolean closed() {
        return closed;
    }

    /** Whether {@code bizTypeId} is registered by the client and does not exist (as far as this session heard). */
    boolean awaits(String bizTypeId) {
        return awaitedBizTypes.contains(bizTypeId);
    }

    /** Whether a cursor of {@code bizTypeId} exists (it may still be starting). */
    boolean reads(String bizTypeId) {
        return cursors.containsKey(bizTypeId);
    }

    private boolean allDeliverable(Cursor cursor, List<Oplog> run) {
        long now = clock.millis();
        for (Oplog oplog : run) {
            if (oplog.validFrom() > now || !deliverable(cursor, oplog, now)) {
                return false;
            }
        }
        return cursor.bizType.online();
    }

    private boolean deliverable(Cursor cursor, Oplog oplog, long now) {
        if (cursor.expiredByRetention(oplog, now)) {
            return false;
        }
        if (oplog.validUntil() != 0 && now > oplog.validUntil()) {
            return false;
        }
        return identity.accepts(oplog);
    }
}
