package io.mss.server.store;

/**
 * One pushed datum, as stored.
 *
 * @param thirdMsgId the caller's idempotency key, or null
 * @param validFrom  epoch millis before which it is not delivered (0: no lower bound)
 * @param validUntil epoch millis after which it is not delivered (0: no upper bound)
 * @param filter     which devices get it; {@link DeliveryFilter#NONE} for all
 * @param epoch      the identity of the scope timeline the id belongs to (see {@link ScopeHead});
 *                   0 where it is not known, e.g. in a request not yet stored
 */
public record Oplog(Scope scope, long id, String payload, String thirdMsgId, long createdAt,
                    long validFrom, long validUntil, DeliveryFilter filter, long epoch) {

    public Oplog {
        filter = filter == null ? DeliveryFilter.NONE : filter;
    }

    public Oplog(Scope scope, long id, String payload, String thirdMsgId, long createdAt, long validFrom,
                 long validUntil, DeliveryFilter filter) {
        this(scope, id, payload, thirdMsgId, createdAt, validFrom, validUntil, filter, 0);
    }

    public Oplog(Scope scope, long id, String payload, String thirdMsgId, long createdAt, long validFrom,
                 long validUntil) {
        this(scope, id, payload, thirdMsgId, createdAt, validFrom, validUntil, DeliveryFilter.NONE, 0);
    }

    /** The same oplog, on the timeline {@code epoch}. */
    public Oplog withEpoch(long epoch) {
        return epoch == this.epoch ? this
                : new Oplog(scope, id, payload, thirdMsgId, createdAt, validFrom, validUntil, filter, epoch);
    }

    /** Whether the oplog may be delivered at {@code now}. */
    public boolean validAt(long now) {
        return (validFrom == 0 || now >= validFrom) && (validUntil == 0 || now <= validUntil);
    }
}
