package io.mss.server.api;

import io.mss.server.records.OperationRecord;
import io.mss.server.records.RecordQuery;
import io.mss.server.records.RecordStore;
import io.vertx.ext.web.RoutingContext;

import java.util.Map;

/** {@code GET /api/v1/records}: the operation records, read on a worker. */
final class RecordRoutes {
    static final int DEFAULT_RECORDS_LIMIT = 100;
    static final int MAX_RECORDS_LIMIT = 1_000;

    private final RecordStore records;

    RecordRoutes(RecordStore records) {
        this.records = records;
    }

    /** {@code GET /api/v1/records?type=&bizType=&from=&to=&limit=}: newest first. */
    void records(RoutingContext ctx) {
        OperationRecord.Type type = null;
        String typeParam = HttpApi.query(ctx, "type");
        if (typeParam != null && !typeParam.isEmpty()) {
            try {
                type = OperationRecord.Type.valueOf(typeParam);
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("'type' must be one of " + java.util.Arrays.toString(OperationRecord.Type.values())
                        + ", got '" + typeParam + "'");
            }
        }
        String bizType = HttpApi.query(ctx, "bizType");
        if (bizType != null && bizType.isEmpty()) {
            bizType = null;
        }
        if (bizType != null && bizType.length() > 64) {
            throw ApiException.invalid("'bizType' must be at most 64 characters");
        }
        long from = longParam(ctx, "from", 0);
        long to = longParam(ctx, "to", Long.MAX_VALUE);
        if (to < from) {
            throw ApiException.invalid("'to' (" + to + ") is before 'from' (" + from + ")");
        }
        long limit = longParam(ctx, "limit", DEFAULT_RECORDS_LIMIT);
        if (limit < 1 || limit > MAX_RECORDS_LIMIT) {
            throw ApiException.invalid("'limit' must be between 1 and " + MAX_RECORDS_LIMIT + ", got " + limit);
        }
        JsonAnswers.ok(ctx, Map.of("records", records.query(new RecordQuery(type, bizType, from, to, (int) limit))));
    }

    private static long longParam(RoutingContext ctx, String name, long fallback) {
        String value = HttpApi.query(ctx, name);
        if (value == null || value.isEmpty()) {
            return fallback;
        }
        try {
            long parsed = Long.parseLong(value);
            if (parsed < 0) {
                throw new NumberFormatException();
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw ApiException.invalid("'" + name + "' must be a non-negative integer"
                    + (name.equals("limit") ? "" : " (epoch milliseconds)") + ", got '" + value + "'");
        }
    }
}
