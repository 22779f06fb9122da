package io.mss.server.store.rocksdb;

import io.mss.server.metrics.MssMetrics;
import io.mss.server.store.AppendRequest;
import io.mss.server.store.AppendResult;
import io.mss.server.store.Oplog;
import io.mss.server.store.StoreException;

import org.rocksdb.WriteBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;

/**
 * The single writer of oplogs. One thread owns id assignment, so ids need no locking and
 * every batch costs one fsync however many appends it holds.
 */
final class GroupCommitWriter {

    static final String THREAD_NAME = "mss-store-writer";

    private static final Logger log = LoggerFactory.getLogger(GroupCommitWriter.class);

    /** Bounds the id cache; an evicted scope just costs one reverse seek on its next append. */
    private static final int MAX_CACHED_SCOPES = 100_000;

    /** Enqueued last by {@link #stop()}; nothing can be enqueued after it. */
    private static final Pending STOP = new Pending(null, null);

    private record Pending(AppendRequest request, CompletableFuture<AppendResult> future) {
    }

    private final OplogTable table;
    private final BatchWriter batchWriter;
    private final int maxBatch;
    private final Clock clock;
    private final Runnable onExit;
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final List<Consumer<List<Oplog>>> listeners = new CopyOnWriteArrayList<>();
    private final Thread thread;
    /** Where batch sizes and durable-write times go; null until the server attaches its meters. */
    volatile MssMetrics metrics;

    /** Last assigned id per scope key; touched only by the writer thread. */
    private final LinkedHashMap<String, Long> lastIds = new LinkedHashMap<>(1024, 0.75f, true);

    GroupCommitWriter(OplogTable table, BatchWriter batchWriter, int maxBatch, Clock clock, Runnable onExit) {
        this.table = table;
        this.batchWriter = batchWriter;
        this.maxBatch = maxBatch;
        this.clock = clock;
        this.onExit = onExit;
        this.thread = new Thread(this::run, THREAD_NAME);
        // a forgotten close() must not keep the JVM alive; a WriteBatch is atomic in the WAL anyway
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** The caller guarantees that {@link #stop()} has not been called yet. */
    void submit(AppendRequest request, CompletableFuture<AppendResult> future) {
        queue.add(new Pending(request, future));
    }

    void addListener(Consumer<List<Oplog>> listener) {
        listeners.add(listener);
    }

    /** Lets the writer finish everything already queued, then exit. Call once. */
    void stop() {
        queue.add(STOP);
    }

    boolean isWriterThread() {
        return Thread.currentThread() == thread;
    }

    void awaitExit() {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                // closing half-way would leave futures hanging and the DB open under the writer
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Fails whatever is still queued; only meaningful once nothing can be enqueued any more. */
    void failQueued(String reason) {
        List<Pending> left = new ArrayList<>();
        queue.drainTo(left);
        for (Pending pending : left) {
            if (pending != STOP) {
                pending.future().completeExceptionally(new StoreException(reason));
            }
        }
    }

    private void run() {
        List<Pending> batch = new ArrayList<>(maxBatch);
        boolean stopping = false;
        try {
            while (!stopping) {
                batch.clear();
                try {
                    batch.add(queue.take());
                } catch (InterruptedException e) {
                    // nobody is supposed to interrupt the writer; stopping goes through the queue
                    continue;
                }
                queue.drainTo(batch, maxBatch - 1);
                if (batch.get(batch.size() - 1) == STOP) {
                    batch.remove(batch.size() - 1);
                    stopping = true;
                }
                if (!batch.isEmpty()) {
                    commit(batch);
                }
            }
        } finally {
            onExit.run();
        }
    }

    private void commit(List<Pending> batch) {
        AppendResult[] results = new AppendResult[batch.size()];
        List<Oplog> committed = new ArrayList<>();
        Set<String> touchedScopes = new HashSet<>();
        try {
            write(batch, results, committed, touchedScopes);
        } catch (Throwable t) {
            // the ids handed out for this batch were never stored: reload them from disk
            touchedScopes.forEach(lastIds::remove);
            StoreException failure = new StoreException(
                    "could not store a batch of " + batch.size() + " oplog appends: " + t, t);
            log.error("Oplog batch write failed; failing {} appends", batch.size(), t);
            for (Pending pending : batch) {
                pending.future().completeExceptionally(failure);
            }
            return;
        }
        trimIdCache();
        for (int i = 0; i < results.length; i++) {
            batch.get(i).future().complete(results[i]);
        }
        if (!committed.isEmpty()) {
            notifyListeners(List.copyOf(committed));
        }
    }

    private void write(List<Pending> batch, AppendResult[] results, List<Oplog> committed,
                       Set<String> touchedScopes) throws Exception {
        long now = clock.millis();
        // the first of two equal idempotency keys in one batch is not on disk yet
        Map<ByteBuffer, Oplog> storedInBatch = new HashMap<>();
        try (WriteBatch writeBatch = new WriteBatch()) {
            for (int i = 0; i < batch.size(); i++) {
                AppendRequest request = batch.get(i).request();
                byte[] idempotencyKey = null;
                if (request.thirdMsgId() != null) {
                    idempotencyKey = Keys.idempotencyKey(request.scope().bizType(), request.linkToken(),
                            request.thirdMsgId());
                    Oplog original = storedInBatch.get(ByteBuffer.wrap(idempotencyKey));
                    if (original == null) {
                        original = table.findByIdempotencyKey(idempotencyKey);
                    }
                    if (original != null) {
                        results[i] = new AppendResult(original, true);
                        continue;
                    }
                }
                String scopeKey = request.scope().key();
                byte[] scopePrefix = Keys.scopePrefix(scopeKey);
                touchedScopes.add(scopeKey);
                long id = nextId(request, scopeKey);
                long createdAt = request.createdAt() > 0 ? request.createdAt() : now;
                Oplog oplog = new Oplog(request.scope(), id, request.payload(), request.thirdMsgId(),
                        createdAt, request.validFrom(), request.validUntil(), request.filter());
                byte[] oplogKey = Keys.oplogKey(scopePrefix, id);
                writeBatch.put(table.oplogs(), oplogKey, OplogCodec.encode(oplog));
                if (idempotencyKey != null) {
                    writeBatch.put(table.idempotencyKeys(), idempotencyKey, oplogKey);
                    storedInBatch.put(ByteBuffer.wrap(idempotencyKey), oplog);
                }
                results[i] = new AppendResult(oplog, false);
                committed.add(oplog);
            }
            if (!committed.isEmpty()) {
                Map<String, Long> lastInBatch = new HashMap<>();
                for (Oplog oplog : committed) {
                    lastInBatch.merge(oplog.scope().key(), oplog.id(), Math::max);
                }
                lastInBatch.forEach((scopeKey, last) -> {
                    try {
                        writeBatch.put(table.scopes(), Keys.scopeIndexKey(scopeKey), Keys.encodeLong(last));
                    } catch (org.rocksdb.RocksDBException e) {
                        throw new StoreException("could not index scope " + scopeKey + ": " + e, e);
                    }
                });
                long started = System.nanoTime();
                batchWriter.write(writeBatch);
                MssMetrics meters = metrics;
                if (meters != null) {
                    meters.committed(committed.size(), System.nanoTime() - started);
                }
            }
        }
    }

    private long nextId(AppendRequest request, String scopeKey) {
        Long last = lastIds.get(scopeKey);
        long next = (last != null ? last : table.lastId(request.scope())) + 1;
        lastIds.put(scopeKey, next);
        return next;
    }

    /** Only between batches: evicting a scope mid-batch would reload an id not yet written. */
    private void trimIdCache() {
        int excess = lastIds.size() - MAX_CACHED_SCOPES;
        for (Iterator<String> eldest = lastIds.keySet().iterator(); excess > 0 && eldest.hasNext(); excess--) {
            eldest.next();
            eldest.remove();
        }
    }

    private void notifyListeners(List<Oplog> committed) {
        for (Consumer<List<Oplog>> listener : listeners) {
            try {
                listener.accept(committed);
            } catch (Throwable t) {
                // a broken listener must neither kill the writer nor starve the other listeners
                log.error("onCommit listener {} failed on {} oplogs", listener, committed.size(), t);
            }
        }
    }
}
