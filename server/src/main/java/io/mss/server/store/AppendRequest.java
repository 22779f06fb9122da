package io.mss.server.store;

/**
 * A push to be stored. The idempotency key is {@code (scope.bizType, linkToken, thirdMsgId)};
 * without a thirdMsgId every append stores a new oplog.
 *
 * @param linkToken the push target as the caller named it (userId or deviceId; "" for global)
 * @param thirdMsgId the caller's idempotency key, or null
 */
public record AppendRequest(Scope scope, String linkToken, String payload, String thirdMsgId,
                            long createdAt, long validFrom, long validUntil, DeliveryFilter filter) {

    public AppendRequest {
        filter = filter == null ? DeliveryFilter.NONE : filter;
    }

    public AppendRequest(Scope scope, String linkToken, String payload, String thirdMsgId, long createdAt,
                         long validFrom, long validUntil) {
        this(scope, linkToken, payload, thirdMsgId, createdAt, validFrom, validUntil, DeliveryFilter.NONE);
    }
}
