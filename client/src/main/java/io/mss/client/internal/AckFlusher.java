package io.mss.client.internal;

import io.mss.client.internal.proto.Ack;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Tells the server the sync points that moved, and keeps syncpoints.properties following them.
 * Moves are coalesced: any number of stored frames queued behind one another cost one Ack, sent
 * by one flush task queued behind them; the checkpoint file is rewritten at most about once per
 * {@link #CHECKPOINT_DELAY_MILLIS} (the inbox's fsync'd records are the durable truth, the file
 * only spares the replay). State thread only.
 */
final class AckFlusher {
    /** How long a moved sync point may wait before syncpoints.properties is rewritten. */
    static final long CHECKPOINT_DELAY_MILLIS = 1_000;

    private static final Logger LOG = Logger.getLogger("io.mss.client");

    /** Where a flush sends its Ack: the welcomed connection, if there is one. */
    interface Sink {
        /** @return the session's user (owner of USER scopes) and version, or null while not welcomed */
        Connection welcomed();

        void sendAck(Connection c, Ack ack);
    }

    private final StateLoop loop;
    private final SyncPointStore store;
    private final Sink sink;
    /** Scopes whose sync point moved since the current connection's Hello. */
    private final Set<ScopeKey> unsent = new HashSet<>();
    private boolean flushQueued;
    /** The checkpoint file is behind the in-memory sync points (which the inbox holds durably). */
    private boolean storeDirty;
    private ScheduledFuture<?> checkpointTask;
    private boolean closed;

    AckFlusher(StateLoop loop, SyncPointStore store, boolean storeDirty, Sink sink) {
        this.loop = loop;
        this.store = store;
        this.storeDirty = storeDirty;
        this.sink = sink;
    }

    /** The scope's sync point moved (its messages are fsync'd in the inbox): ack it with the next flush. */
    void moved(ScopeKey key) {
        loop.checkThread();
        unsent.add(key);
        checkpointLater();
    }

    /** The scope restarted at id 0: nothing to ack until its next stored message. */
    void restarted(ScopeKey key) {
        loop.checkThread();
        unsent.remove(key);
        checkpointLater();
    }

    /** A new Hello carries every sync point: nothing is unsent after it. */
    void helloSent() {
        loop.checkThread();
        unsent.clear();
    }

    boolean hasUnsent() {
        return !unsent.isEmpty();
    }

    /** Queued behind the frames already waiting, so that a burst of them costs one Ack. */
    void queueFlush() {
        loop.checkThread();
        if (!flushQueued) {
            flushQueued = true;
            loop.post(this::flush);
        }
    }

    /** Sends the unsent sync points now, if a welcomed connection is there to take them. */
    void flush() {
        loop.checkThread();
        flushQueued = false;
        Connection c = sink.welcomed();
        if (c != null && !unsent.isEmpty()) {
            Ack ack = takeAck(c.sessionUserId, c.version >= io.mss.protocol.ProtocolVersion.EPOCHS);
            if (ack.getSyncPointsCount() > 0) {
                sink.sendAck(c, ack);
            }
        }
    }

    /**
     * The Ack for the scopes moved since the last one, sorted; takes them. Another user's scopes
     * go out with that user's Hello; a bizType without a callback is acked too (its messages are
     * stored, they only wait in the inbox). A version 1 server knows no epochs: its acks carry 0.
     */
    Ack takeAck(String sessionUserId, boolean epochs) {
        loop.checkThread();
        List<ScopeKey> keys = new ArrayList<>(unsent);
        unsent.clear();
        keys.sort((a, b) -> a.toString().compareTo(b.toString()));
        Ack.Builder ack = Ack.newBuilder();
        for (ScopeKey key : keys) {
            Long id = store.get(key);
            if (id != null && key.visibleTo(sessionUserId)) {
                ack.addSyncPoints(Wire.syncPoint(key, id, epochs ? store.epoch(key) : 0));
            }
        }
        return ack.build();
    }

    private void checkpointLater() {
        storeDirty = true;
        if (checkpointTask == null && !closed) {
            checkpointTask = loop.schedule(() -> {
                checkpointTask = null;
                checkpoint();
            }, CHECKPOINT_DELAY_MILLIS);
        }
    }

    /** Nothing waits for it: a failure only leaves an older checkpoint, which the inbox overrules at start. */
    void checkpoint() {
        loop.checkThread();
        if (!storeDirty) {
            return;
        }
        try {
            store.save();
            storeDirty = false;
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot write the sync point checkpoint; the inbox still holds them", e);
        }
    }

    /** Sends what is stored while the connection is still up, then writes the checkpoint a last time. */
    void close() {
        loop.checkThread();
        flush();
        closed = true;
        if (checkpointTask != null) {
            checkpointTask.cancel(false);
            checkpointTask = null;
        }
        checkpoint();
    }
}
