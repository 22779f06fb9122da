package io.mss.server.store;

/**
 * One pushed datum, as stored.
 *
 * @param thirdMsgId the caller's idempotency key, or null
 * @param validFrom  epoch millis before which it is not delivered (0: no lower bound)
 * @param validUntil epoch millis after which it is not delivered (0: no upper bound)
 * @param filter     which devices get it; {@link DeliveryFilter#NONE} for all
 */
public record Oplog(Scope scope, long id, String payload, String thirdMsgId, long createdAt,
                    long validFrom, long validUntil, DeliveryFilter filter) {

    public Oplog {
        filter = filter == null ? DeliveryFilter.NONE : filter;
    }

    public Oplog(Scope scope, long id, String payload, String thirdMsgId, long createdAt, long validFrom,
                 long validUntil) {
        this(scope, id, payload, thirdMsgId, createdAt, validFrom, validUntil, DeliveryFilter.NONE);
    }

    /** Whether the oplog may be delivered at {@code now}. */
    public boolean validAt(long now) {
        return (validFrom == 0 || now >= validFrom) && (validUntil == 0 || now <= validUntil);
    }
}
