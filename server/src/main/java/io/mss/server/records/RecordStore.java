package io.mss.server.records;

import java.util.ArrayList;
import java.util.List;

/**
 * Operation records: an audit trail of API calls that changed something. Not the durable path:
 * writes need not be fsync'd, and a failed write must never fail the request it describes.
 */
public interface RecordStore extends AutoCloseable {

    /** Stores the records together and returns them with their ids, in the same order. */
    List<OperationRecord> append(List<OperationRecord> drafts);

    default OperationRecord append(OperationRecord draft) {
        return append(List.of(draft)).get(0);
    }

    /**
     * Stores the records without making the caller wait for it if the store can: what a
     * request records goes here, so that its answer never waits for a commit. Never throws.
     * A store that writes asynchronously shows its own node's records to queries made after
     * this call.
     */
    default void appendLater(List<OperationRecord> drafts) {
        append(drafts);
    }

    /** Matching records, newest first. */
    List<OperationRecord> query(RecordQuery query);

    /** Deletes every record older than {@code cutoffMillis}; returns how many. */
    long purgeOlderThan(long cutoffMillis);

    @Override
    void close();

    /** A store that keeps nothing, for an API without records. */
    static RecordStore discarding() {
        return new RecordStore() {
            @Override
            public List<OperationRecord> append(List<OperationRecord> drafts) {
                return new ArrayList<>(drafts);
            }

            @Override
            public List<OperationRecord> query(RecordQuery query) {
                return List.of();
            }

            @Override
            public long purgeOlderThan(long cutoffMillis) {
                return 0;
            }

            @Override
            public void close() {
            }
        };
    }
}
