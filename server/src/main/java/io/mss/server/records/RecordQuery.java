package io.mss.server.records;

/**
 * Which records to read, newest first.
 *
 * @param type    only this type, or null for all
 * @param bizType only this bizType, or null for all
 * @param from    epoch millis, inclusive
 * @param to      epoch millis, inclusive
 * @param limit   at most this many
 */
public record RecordQuery(OperationRecord.Type type, String bizType, long from, long to, int limit) {

    public RecordQuery {
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("need 0 <= from <= to, got from=" + from + " to=" + to);
        }
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be positive: " + limit);
        }
    }

    public static RecordQuery newest(int limit) {
        return new RecordQuery(null, null, 0, Long.MAX_VALUE, limit);
    }
}
