package io.mss.server.store;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Durable, per-scope ordered oplogs.
 *
 * <p>Appends are group-committed by one writer: the returned future completes only after the
 * batch holding the append is durable (fsync'd, unless the store was opened with fsync off),
 * and ids within a scope are assigned strictly increasing, starting at 1, on the scope's
 * timeline (its epoch, see {@link ScopeHead}); committed oplogs carry their epoch. A failed batch
 * completes its futures exceptionally with {@link StoreException} and stores nothing of it.
 */
public interface OplogStore extends AutoCloseable {

    CompletableFuture<AppendResult> append(AppendRequest request);

    /**
     * Called on the store's commit thread after every durable batch, with the new
     * (non-duplicate) oplogs in commit order; one thread per store (RocksDB's
     * {@code mss-store-syncer}, PostgreSQL's {@code mss-store-writer}), which completes the
     * futures of durable appends too (a failed one may be answered on another store thread).
     * Ids of one scope appear in ascending order across calls.
     */
    void onCommit(Consumer<List<Oplog>> listener);

    /** Reports commit batch sizes and durable-write times into these meters from now on. */
    default void meterInto(io.mss.server.metrics.MssMetrics metrics) {
    }

    /**
     * Up to {@code maxCount} oplogs of the scope with id greater than {@code afterId}, ascending,
     * each carrying the scope's current epoch.
     */
    List<Oplog> read(Scope scope, long afterId, int maxCount);

    /** The scope's epoch and highest id ever assigned; {@link ScopeHead#NONE} when it never had an oplog. */
    ScopeHead head(Scope scope);

    /** The highest id ever assigned in the scope, 0 when none; trimming and purging never lower it. */
    default long lastId(Scope scope) {
        return head(scope).lastId();
    }

    /** Every scope of the bizType that ever had an oplog. */
    List<Scope> scopes(String bizType);

    /** Whether any oplog of the bizType is still stored. */
    boolean hasData(String bizType);

    /** Deletes the scope's oplogs with id up to and including {@code upToId} (threshold trimming). */
    void trim(Scope scope, long upToId);

    /**
     * Deletes the scope's oplogs that can no longer be delivered at {@code now}: older than
     * {@code retentionMillis}, or past their validity window.
     *
     * @return how many were deleted
     */
    long purgeExpired(Scope scope, long now, long retentionMillis);

    /**
     * Deletes every oplog and idempotency key of the bizType, and gives each of its scopes a new
     * epoch: what a device holds of the old data is from another timeline. Ids are kept, so they
     * never restart either.
     */
    void deleteData(String bizType);

    /**
     * Gives every scope a new epoch, ids unchanged: after a restore, positions that devices took
     * from the store as it was later are from another timeline, even where their ids exist here.
     */
    void startNewTimelines();

    @Override
    void close();
}
