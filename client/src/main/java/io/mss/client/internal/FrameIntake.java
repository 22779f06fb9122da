package io.mss.client.internal;

import io.mss.client.FullUpdate;
import io.mss.client.MessageCallback;
import io.mss.client.Scope;
import io.mss.client.SyncMessage;
import io.mss.client.internal.proto.BizBatch;
import io.mss.client.internal.proto.Oplog;
import io.mss.client.internal.proto.ServerFrame;
import io.mss.client.internal.proto.SyncData;
import io.mss.protocol.ProtocolVersion;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Takes the server's frames off the current connection: SyncData into the inbox (one write and
 * one fsync for the frames taken together), then their sync points to the {@link AckFlusher} and
 * their scopes to the {@link DeliveryPump}; FULL_UPDATE and timeline restarts to
 * {@link FullUpdates}; the rest to whom it concerns. Stops taking SyncData while the app is {@link #MAX_UNDELIVERED} messages or
 * {@link #MAX_UNDELIVERED_BYTES} behind: the reader's small queue fills, the reader stops reading,
 * and TCP slows the server. Taking resumes below half of both. State thread only.
 */
final class FrameIntake implements ConnectionManager.Session {
    /**
     * Stored messages waiting for a registered callback above which frames wait. Large enough to
     * hold several scopes at once: the server fills a catch-up frame from one scope before the
     * next, and the scopes in the inbox are what the callbacks get in parallel (one message per
     * scope at a time), so a window of one scope delivers one message per state-thread round trip.
     */
    static final int MAX_UNDELIVERED = 20_000;
    /** The same in inbox record bytes (about what they hold in memory), for large payloads. */
    static final long MAX_UNDELIVERED_BYTES = 8L << 20;

    private static final Logger LOG = Logger.getLogger("io.mss.client");

    private final StateLoop loop;
    private final Inbox inbox;
    private final SyncPointStore store;
    private final Map<String, MessageCallback> callbacks;
    private final UserSwitch users;
    private final BooleanSupplier closing;
    private ConnectionControl connections;
    private AckFlusher acks;
    private DeliveryPump pump;
    private UpstreamRequests upstream;
    private FullUpdates fullUpdates;
    /** Frames of the current connection wait until the app catches up. */
    private boolean paused;

    FrameIntake(StateLoop loop, Inbox inbox, SyncPointStore store, Map<String, MessageCallback> callbacks,
                UserSwitch users, BooleanSupplier closing) {
        this.loop = loop;
        this.inbox = inbox;
        this.store = store;
        this.callbacks = callbacks;
        this.users = users;
        this.closing = closing;
    }

    /** The pieces this one hands to; they are built with this one, hence not in the constructor. */
    void wire(ConnectionControl connections, AckFlusher acks, DeliveryPump pump, UpstreamRequests upstream,
              FullUpdates fullUpdates) {
        this.connections = connections;
        this.acks = acks;
        this.pump = pump;
        this.upstream = upstream;
        this.fullUpdates = fullUpdates;
    }

    @Override
    public void hello(Connection c, io.mss.client.internal.proto.Hello.Builder hello) {
        hello.addAllBizTypes(callbacks.keySet()).setSessionId(c.userId == null ? "" : users.sessionId());
        // with epochs even before the server chose a version: a version 1 server ignores the field,
        // and epochs are only stored once a version 2 server sent them. Each sync point is the high
        // of an fsync'd inbox record already.
        for (Map.Entry<ScopeKey, Long> e : store.forSession(callbacks.keySet(), c.userId).entrySet()) {
            hello.addSyncPoints(Wire.syncPoint(e.getKey(), e.getValue(), store.epoch(e.getKey())));
        }
        acks.helloSent();
    }

    @Override
    public void welcomed(Connection c) {
        if (acks.hasUnsent()) {
            acks.flush();
        }
        // unanswered upstream messages, again with their ids: the server answers a repeat once
        upstream.resend(c, () -> connections.current() == c);
    }

    @Override
    public void ended(Connection c) {
        paused = false;
    }

    @Override
    public void framesQueued(Connection c) {
        loop.checkThread();
        while (c == connections.current()) {
            Connection.Inbound next = c.inbound.peek();
            if (next == null) {
                return;
            }
            ServerFrame frame = next.frame;
            if (frame.hasSyncData() && c.welcomed) {
                int undelivered = undelivered();
                long undeliveredBytes = undeliveredBytes();
                if (undelivered >= MAX_UNDELIVERED || undeliveredBytes >= MAX_UNDELIVERED_BYTES) {
                    paused = true;
                    return;
                }
                syncData(c, takeSyncData(c, undelivered, undeliveredBytes));
                continue;
            }
            c.inbound.poll();
            received(c, frame);
        }
    }

    /** As many SyncData frames at the head of the queue as the undelivered budget allows. */
    private static List<SyncData> takeSyncData(Connection c, int undelivered, long undeliveredBytes) {
        List<SyncData> frames = new ArrayList<>(Connection.INBOUND_FRAMES);
        int taken = undelivered;
        long takenBytes = undeliveredBytes;
        Connection.Inbound next;
        while (taken < MAX_UNDELIVERED && takenBytes < MAX_UNDELIVERED_BYTES && (next = c.inbound.peek()) != null
                && next.frame.hasSyncData()) {
            c.inbound.poll();
            frames.add(next.frame.getSyncData());
            takenBytes += next.wireBytes;
            taken += oplogs(next.frame.getSyncData());
        }
        return frames;
    }

    private static int oplogs(SyncData data) {
        int n = 0;
        for (BizBatch batch : data.getBatchesList()) {
            n += batch.getOplogsCount();
        }
        return n;
    }

    /** Messages left the inbox or became deliverable elsewhere: take frames again once the app caught up. */
    void resume() {
        if (paused && undelivered() < MAX_UNDELIVERED / 2 && undeliveredBytes() < MAX_UNDELIVERED_BYTES / 2) {
            paused = false;
            Connection c = connections.current();
            if (c != null) {
                framesQueued(c);
            }
        }
    }

    /** Stored messages that a registered callback of the signed-in user is still to get. */
    private int undelivered() {
        String user = users.userId();
        return inbox.pendingCount(key -> callbacks.containsKey(key.bizType()) && key.visibleTo(user));
    }

    private long undeliveredBytes() {
        String user = users.userId();
        return inbox.pendingBytes(key -> callbacks.containsKey(key.bizType()) && key.visibleTo(user));
    }

    private void received(Connection c, ServerFrame frame) {
        switch (frame.getKindCase()) {
            case WELCOME:
                connections.welcomed(c, frame.getWelcome());
                break;
            case SYNC_DATA:
                // taken in framesQueued once welcomed
                connections.lost(c, "protocol violation: SyncData before Welcome", false);
                break;
            case COMMAND:
                fullUpdates.command(c, frame.getCommand());
                break;
            case UPSTREAM_RESULT:
                upstream.answered(frame.getUpstreamResult());
                break;
            case ERROR:
                io.mss.client.internal.proto.Error error = frame.getError();
                connections.refused(c, "server error " + error.getCode()
                                + (error.getMessage().isEmpty() ? "" : ": " + error.getMessage()), error.getRetry(),
                        error.getCode().name());
                break;
            case PONG:
                // a sign of life; the connection thread's read timeout already counted it
                break;
            default:
                if (LOG.isLoggable(Level.FINE)) {
                    LOG.fine("ignoring a frame this client does not know: " + frame.getKindCase());
                }
                break;
        }
    }

    /**
     * Stores the new oplogs in the inbox (fsync), raises their sync points, and queues the flush
     * that acks the server. Dispatch starts from the inbox. Ephemeral batches bypass all of that;
     * a durable batch of another timeline than the stored sync point's restarts its scope first.
     */
    private void syncData(Connection c, List<SyncData> frames) {
        boolean epochs = c.version >= ProtocolVersion.EPOCHS;
        int oplogs = 0;
        for (SyncData data : frames) {
            oplogs += oplogs(data);
        }
        List<SyncMessage> incoming = new ArrayList<>(oplogs);
        Set<ScopeKey> stored = new LinkedHashSet<>();
        for (SyncData data : frames) {
            for (BizBatch batch : data.getBatchesList()) {
                String bizType = batch.getBizType();
                Scope scope = Wire.toScope(batch.getScope());
                if (scope == null || (scope == Scope.USER && c.sessionUserId == null)) {
                    LOG.warning("ignoring a batch of " + bizType + " with scope " + batch.getScope()
                            + (scope == null ? ", unknown" : " in an anonymous session"));
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
                    String detail = "a batch of epoch " + epoch + " while the sync point is on epoch "
                            + storedEpoch(key);
                    if (!storeIncoming(c, incoming, stored) || !fullUpdates.restartScope(c, key, epoch, detail)) {
                        return;
                    }
                    incoming.clear();
                    fullUpdates.signal(new FullUpdate(bizType, scope, epoch, true, detail));
                }
                for (Oplog oplog : batch.getOplogsList()) {
                    incoming.add(SyncMessage.builder().bizType(bizType).scope(scope).id(oplog.getId()).epoch(epoch)
                            .payload(oplog.getPayload()).createdAt(oplog.getCreatedAt()).userId(c.sessionUserId)
                            .build());
                }
            }
        }
        if (!storeIncoming(c, incoming, stored)) {
            return;
        }
        for (ScopeKey key : stored) {
            if (store.put(key, inbox.epoch(key), inbox.high(key))) {
                // the inbox's fsync was the one durable write; the Ack can go out now
                acks.moved(key);
            }
        }
        if (!stored.isEmpty()) {
            acks.queueFlush();
            for (ScopeKey key : stored) {
                pump.pump(key);
            }
        }
    }

    /**
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
            connections.lost(c, "cannot write the inbox: " + e, false);
            return false;
        }
    }

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
     * there. Never in the inbox, never a sync point, never acked, never retried.
     */
    private void dispatchEphemeral(Connection c, ScopeKey key, BizBatch batch) {
        MessageCallback callback = callbacks.get(key.bizType());
        if (callback == null) {
            LOG.fine("no callback for ephemeral messages; they are not kept");
            return;
        }
        for (Oplog oplog : batch.getOplogsList()) {
            SyncMessage m = SyncMessage.builder().bizType(key.bizType()).scope(key.scope()).id(oplog.getId())
                    .ephemeral(true).payload(oplog.getPayload()).createdAt(oplog.getCreatedAt())
                    .userId(c.sessionUserId).build();
            loop.dispatch(() -> {
                // the same checks as a stored message's attempt, right before the app sees it
                if (closing.getAsBoolean() || !users.visibleToApp(key)) {
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
}
