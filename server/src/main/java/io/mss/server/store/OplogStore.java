package io.mss.server.store;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Durable, per-scope ordered oplogs.
 *
 * <p>Appends are group-committed by one writer: the returned future completes only after the
 * batch holding the append is durable (fsync'd, unless the store was opened with fsync off),
 * and ids within a scope are assigned strictly increasing, starting at 1. A failed batch
 * completes its futures exceptionally with {@link StoreException} and stores nothing of it.
 */
public interface OplogStore extends AutoCloseable {

    CompletableFuture<AppendResult> append(AppendRequest request);

    /**
     * Called on the writer thread after every durable batch, with the new (non-duplicate)
     * oplogs in commit order. Ids of one scope appear in ascending order across calls.
     */
    void onCommit(Consumer<List<Oplog>> listener);

    /** Up to {@code maxCount} oplogs of the scope with id greater than {@code afterId}, ascending. */
    List<Oplog> read(Scope scope, long afterId, int maxCount);

    /** The highest id ever assigned in the scope, 0 when none. */
    long lastId(Scope scope);

    @Override
    void close();
}
