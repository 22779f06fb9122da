package io.mss.server.store;

import io.mss.server.store.SyncPointStore.Position;

/** The one rule every engine applies when an ack moves a stored sync point. */
public final class SyncPoints {

    private SyncPoints() {
    }

    /**
     * Where a sync point stands after an ack of {@code (epoch, id)}: on the same timeline (or one
     * not known, epoch 0) the higher id wins and a known epoch is kept; on another timeline the
     * ack replaces the stored position, which belongs to a timeline the scope no longer has.
     */
    public static Position advanced(Position stored, long epoch, long id) {
        if (epoch != 0 && stored.epoch() != 0 && epoch != stored.epoch()) {
            return new Position(epoch, id);
        }
        return new Position(epoch != 0 ? epoch : stored.epoch(), Math.max(stored.id(), id));
    }
}
