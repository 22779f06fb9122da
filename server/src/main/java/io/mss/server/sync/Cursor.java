package io.mss.server.sync;

import io.mss.server.biz.BizType;
import io.mss.server.store.Oplog;
import io.mss.server.store.Scope;
import io.mss.server.store.SyncPointStore;

/**
 * Where one scope stands for a session: what was sent, what is known to be committed, what the
 * client acknowledged, and which timeline (epoch) it is on. It holds the bookkeeping that only
 * concerns its own position; what to send, and when to tell the client FULL_UPDATE, is decided
 * by its {@link Session}.
 *
 * <p>Threading: built with its session on the thread that opens it (a reader thread on
 * PostgreSQL), then owned by the session's event loop, like the rest of the session's state, so it
 * needs no locks; the engine reads it there too (subscribing at {@link SyncEngine#start}, the
 * poison cutoff during a drain).
 */
final class Cursor {
    private static final long DAY_MS = 24L * 3600 * 1000;

    BizType bizType;
    final Scope scope;
    /** Whose sync point this is: the deviceId, or {@link SyncPointStore#USER_OWNED} for single-device. */
    final String syncPointOwner;
    /** Highest id written to the channel (or skipped as undeliverable). */
    long sentUpTo;
    /** Highest id known to be committed in the scope. */
    long knownHead;
    /** Highest id the client acknowledged in this session or before. */
    long acked;
    /**
     * Highest id actually written to the channel. Once the client acked it, whatever was
     * skipped after it (filtered, expired, poison) is no longer owed to this device.
     */
    long lastWritten;
    /** The first oplog this session sent in the scope: the one the poison cutoff counts. */
    boolean firstSent;
    /** Waiting for a validity window to open. */
    long heldUntil;
    boolean fullUpdateSent;
    /** The timeline this cursor is on, named in every batch it sends; 0 until the scope has one. */
    long epoch;
    /** The epoch the cursor left at its last restart: acks of it raced the switch and move nothing. */
    long leftEpoch;
    /** {@link System#nanoTime} when the cursor took its epoch: a head read that started before is older news. */
    long epochSince;
    /** The epoch of the position the cursor started from (the client's or the stored one); 0: not known. */
    final long startEpoch;
    /** Restarted, and the client has not acked on the new timeline yet. */
    boolean awaitingAck;
    /** Its head is being read: nothing is sent, and acks for it wait. */
    boolean starting = true;

    Cursor(BizType bizType, Scope scope, String syncPointOwner, SyncPointStore.Position start) {
        this.bizType = bizType;
        this.scope = scope;
        this.syncPointOwner = syncPointOwner;
        this.sentUpTo = start.id();
        this.acked = start.id();
        this.lastWritten = start.id();
        this.startEpoch = start.epoch();
    }

    /** Whether the cursor has something it may send now. */
    boolean readable(long now) {
        if (starting || sentUpTo >= knownHead || !bizType.online() || !bizType.persistent()) {
            return false;
        }
        return heldUntil <= now;
    }

    /** Clamps the position to {@code lastId}, what exists in the scope. */
    void clampTo(long lastId) {
        sentUpTo = Math.min(sentUpTo, lastId);
        acked = Math.min(acked, sentUpTo);
        lastWritten = Math.min(lastWritten, sentUpTo);
    }

    /**
     * Starts the position over at 0 on {@code epoch}, where a new device would be; the epoch it
     * was on before is remembered as the one it left.
     */
    void startOver(long epoch) {
        if (this.epoch != epoch) {
            leftEpoch = this.epoch;
        }
        this.epoch = epoch;
        epochSince = System.nanoTime();
        sentUpTo = 0;
        acked = 0;
        lastWritten = 0;
        firstSent = false;
        heldUntil = 0;
        // until the client acks on the new timeline, acks it sent before the restart reached it move nothing
        awaitingAck = true;
    }

    /** Whether {@code oplog} is older than the bizType's retention at {@code now}. */
    boolean expiredByRetention(Oplog oplog, long now) {
        return oplog.createdAt() + bizType.retentionDays() * DAY_MS < now;
    }

    /** Committed oplogs of the scope the client has not acked: 0 for a non-persistent bizType. */
    long owed() {
        if (!bizType.persistent()) {
            return 0;
        }
        // skipped oplogs after the last written one are never acked, and owed to nobody
        long settled = acked >= lastWritten ? sentUpTo : acked;
        return Math.max(0, knownHead - settled);
    }
}
