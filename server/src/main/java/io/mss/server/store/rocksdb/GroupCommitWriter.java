package io.mss.server.store.rocksdb;

import io.mss.server.metrics.MssMetrics;
import io.mss.server.store.AppendRequest;
import io.mss.server.store.AppendResult;
import io.mss.server.store.Oplog;
import io.mss.server.store.ScopeHead;
import io.mss.server.store.SingleWriter;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * How the embedded store writes a batch: ids from a per-scope cache (only the writer thread
 * assigns them, so they need no locking), the whole batch in one RocksDB WriteBatch, one fsync.
 *
 * <p>Two threads. The writer ({@code mss-store-writer}) assigns ids and puts each batch into
 * RocksDB without waiting for the disk, then hands it to the syncer ({@code mss-store-syncer}),
 * which fsyncs the log once for every batch handed to it meanwhile and then answers them: their
 * futures completed and the {@code onCommit} listeners told, on the syncer thread, in commit
 * order. So the writer prepares and writes the next batch while the disk makes the last one
 * durable, instead of the two adding up. Until its fsync returned a batch is hidden from readers
 * ({@link DurableHeads}): nothing is acknowledged, read or delivered before it is durable. With
 * fsync off the syncer only answers.
 */
final class GroupCommitWriter extends SingleWriter {

    private static final Logger log = LoggerFactory.getLogger(GroupCommitWriter.class);

    /** Bounds the id cache; an evicted scope just costs one reverse seek on its next append. */
    private static final int MAX_CACHED_SCOPES = 100_000;

    /** The name of the thread that fsyncs and answers written batches. */
    static final String SYNCER_THREAD_NAME = "mss-store-syncer";

    /** Makes everything written so far durable (RocksDB's write-ahead log sync). */
    @FunctionalInterface
    interface WalSync {
        void sync() throws Exception;
    }

    /** Reopens the database after a failed write or fsync; RocksDB refuses writes until then. */
    interface Recovery {
        /** Any thread: whether a write or an fsync failed since the last reopen. */
        boolean needed();

        /** Writer thread, with nothing handed to the syncer unanswered. */
        void reopen() throws Exception;
    }

    /** What the syncer takes: a written batch to answer, a barrier to pass, or the end. */
    private sealed interface Handed permits Written, Barrier, End {
    }

    /** A batch in RocksDB: what answering it needs. */
    private record Written(List<Pending> batch, AppendResult[] results, List<Oplog> committed,
                           Map<String, Oplog> lastInBatch, long writeNanos) implements Handed {
    }

    /** Passed once everything handed before it is answered. */
    private record Barrier(CountDownLatch passed) implements Handed {
    }

    private record End() implements Handed {
    }

    private final OplogTable table;
    private final BatchWriter batchWriter;
    /** Null when fsync is off. */
    private final WalSync walSync;
    private final Recovery recovery;
    private final Clock clock;
    /** Where batch sizes and durable-write times go; null until the server attaches its meters. */
    volatile MssMetrics metrics;
    /** What readers may see of scopes with rows not durable yet. */
    final DurableHeads durableHeads = new DurableHeads();

    /** Head per scope key, {lastId, epoch}; touched only by the writer thread (tasks included). */
    private final LinkedHashMap<String, long[]> heads = new LinkedHashMap<>(1024, 0.75f, true);
    /** From the writer to the syncer, in commit order. */
    private final BlockingQueue<Handed> handed = new LinkedBlockingQueue<>();
    private final Thread syncer;
    /** Whether the writer handed a batch on that the syncer may not have answered yet; writer thread only. */
    private boolean unsettled;
    /**
     * Why an fsync failed since the store was last reopened; set by the syncer, cleared by the
     * writer after the reopen. Until then every batch fails: a later fsync that succeeds proves
     * nothing about the pages the failed one lost (Linux reports such a loss once), and a later
     * batch may name an original of the failed one as its duplicate.
     */
    private volatile Throwable syncFailure;

    /** @param walSync null when fsync is off */
    GroupCommitWriter(OplogTable table, BatchWriter batchWriter, WalSync walSync, Recovery recovery, int maxBatch,
                      Clock clock, Runnable onExit) {
        super(maxBatch, onExit);
        this.table = table;
        this.batchWriter = batchWriter;
        this.walSync = walSync;
        this.recovery = recovery;
        this.clock = clock;
        this.syncer = new Thread(this::sync, SYNCER_THREAD_NAME);
        this.syncer.setDaemon(true);
    }

    /** Starts the syncer, then the writer; a writer that cannot start leaves no syncer behind. */
    void startBoth() {
        syncer.start();
        try {
            start();
        } catch (Throwable t) {
            stopSyncer();
            throw t;
        }
    }

    /** Waits until the syncer has ended (after the writer's exit stopped it). */
    void awaitSyncerExit() {
        boolean interrupted = false;
        while (syncer.isAlive()) {
            try {
                syncer.join();
            } catch (InterruptedException e) {
                interrupted = true; // closing half-way would free the database under it
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether this is the writer or the syncer thread: the threads that must not wait for the writer to exit. */
    boolean isStoreThread() {
        return isWriterThread() || Thread.currentThread() == syncer;
    }

    @Override
    protected void commit(List<Pending> batch) {
        AppendResult[] results = new AppendResult[batch.size()];
        List<Oplog> committed = new ArrayList<>();
        Set<String> touchedScopes = new HashSet<>();
        Map<String, Oplog> lastInBatch = new HashMap<>();
        long writeNanos;
        try {
            if (recovery.needed()) {
                // before this batch looks anything up or hides anything: no fsync may run on the
                // old database then, and what the disk kept of a failed batch is what counts
                settle();
                recovery.reopen();
                syncFailure = null;
                durableHeads.showAll(); // what the log gave back is what counts
                heads.clear(); // the ids and epochs of batches the log did not give back are not taken
            }
            writeNanos = write(batch, results, committed, touchedScopes, lastInBatch);
        } catch (Throwable t) {
            // the ids handed out for this batch were never stored: reload them from disk (the
            // scopes stay hidden at their last durable id, which is still right)
            touchedScopes.forEach(heads::remove);
            log.error("Oplog batch write failed; failing {} appends", batch.size(), t);
            fail(batch, new StoreException("could not store a batch of " + batch.size() + " oplog appends: " + t, t));
            return;
        }
        trimIdCache();
        // a batch of duplicates only goes this way too: its originals may be in a batch not durable yet
        handed.add(new Written(batch, results, committed, lastInBatch, writeNanos));
        unsettled = true;
    }

    @Override
    protected void settle() {
        if (!unsettled) {
            return;
        }
        Barrier barrier = new Barrier(new CountDownLatch(1));
        handed.add(barrier);
        boolean interrupted = false;
        while (true) {
            try {
                barrier.passed().await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // nobody interrupts the writer; what it waits for comes either way
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        unsettled = false;
    }

    /** Writer thread, as its store's last act: the syncer ends once it answered what it holds. */
    void stopSyncer() {
        handed.add(new End());
    }

    /** The syncer thread: one fsync for everything handed on meanwhile, then the answers, in order. */
    private void sync() {
        List<Handed> taken = new ArrayList<>();
        boolean end = false;
        while (!end) {
            taken.clear();
            try {
                taken.add(takeSpinning(handed));
            } catch (InterruptedException e) {
                continue; // nobody interrupts the syncer; it ends through the queue
            }
            handed.drainTo(taken);
            try {
                end = syncAndAnswer(taken);
            } catch (Throwable t) {
                // out of memory, say: this thread must live on, or nothing is ever answered again
                log.error("could not answer {} handed batches", taken.size(), t);
                for (Handed item : taken) {
                    if (item instanceof Written written) {
                        fail(written.batch(), new StoreException("could not answer an append: " + t, t));
                    } else if (item instanceof Barrier barrier) {
                        barrier.passed().countDown();
                    } else {
                        end = true;
                    }
                }
            }
        }
    }

    /** Syncer thread: fsyncs for what {@code taken} holds, then answers it; returns whether it held the end. */
    private boolean syncAndAnswer(List<Handed> taken) {
        long syncNanos = 0;
        Throwable failure = syncFailure;
        if (walSync != null && failure == null && taken.stream().anyMatch(h -> h instanceof Written w
                && !w.committed().isEmpty())) {
            long started = System.nanoTime();
            try {
                walSync.sync();
                syncNanos = System.nanoTime() - started;
            } catch (Throwable t) {
                failure = t;
                syncFailure = t;
            }
        }
        boolean end = false;
        for (Handed item : taken) {
            if (item instanceof Written written) {
                try {
                    answer(written, failure, syncNanos);
                } catch (RuntimeException e) {
                    // a bug here must not leave the batch, or those behind it, unanswered
                    log.error("could not answer a batch of {} appends", written.batch().size(), e);
                    fail(written.batch(), new StoreException("could not answer an append: " + e, e));
                }
            } else if (item instanceof Barrier barrier) {
                barrier.passed().countDown();
            } else {
                end = true;
            }
        }
        return end;
    }

    /**
     * Syncer thread: answers a written batch, durable ({@code failure} null) or not. Readers see
     * its rows once it is durable, as far as no newer batch holds rows of the same scope.
     */
    private void answer(Written written, Throwable failure, long syncNanos) {
        if (Thread.currentThread() != syncer) {
            throw new IllegalStateException("batches are answered on the syncer thread, not on "
                    + Thread.currentThread().getName());
        }
        if (failure != null) {
            // hidden until a reopen reads back what the disk has: no device may see them before
            log.error("Oplog batch fsync failed; failing {} appends", written.batch().size(), failure);
            fail(written.batch(), new StoreException("could not make a batch of " + written.batch().size()
                    + " oplog appends durable: " + failure, failure));
            return;
        }
        written.lastInBatch().forEach((scopeKey, last) -> durableHeads.durable(scopeKey, last.id()));
        MssMetrics meters = metrics;
        if (meters != null && !written.committed().isEmpty()) {
            try {
                meters.committed(written.committed().size(), written.writeNanos() + syncNanos);
            } catch (RuntimeException e) {
                log.warn("could not count a group commit: {}", e.toString()); // the batch is answered either way
            }
        }
        AppendResult[] results = written.results();
        for (int i = 0; i < results.length; i++) {
            written.batch().get(i).future().complete(results[i]);
        }
        committed(written.committed());
    }

    private static void fail(List<Pending> batch, StoreException failure) {
        for (Pending pending : batch) {
            pending.future().completeExceptionally(failure);
        }
    }

    /**
     * Puts the batch into RocksDB, not waiting for the disk, and returns how long that took.
     * Fills {@code lastInBatch} with each scope's last new oplog in the batch.
     */
    private long write(List<Pending> batch, AppendResult[] results, List<Oplog> committed,
                       Set<String> touchedScopes, Map<String, Oplog> lastInBatch) throws Exception {
        long now = clock.millis();
        // the first of two equal idempotency keys in one batch is not on disk yet
        Map<ByteBuffer, Oplog> storedInBatch = new HashMap<>();
        Map<String, Oplog> firstInBatch = new HashMap<>();
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
                long[] head = nextId(request, scopeKey);
                long id = head[0];
                long createdAt = request.createdAt() > 0 ? request.createdAt() : now;
                Oplog oplog = new Oplog(request.scope(), id, request.payload(), request.thirdMsgId(),
                        createdAt, request.validFrom(), request.validUntil(), request.filter(), head[1]);
                byte[] oplogKey = Keys.oplogKey(scopePrefix, id);
                writeBatch.put(table.oplogs(), oplogKey, OplogCodec.encode(oplog));
                if (idempotencyKey != null) {
                    writeBatch.put(table.idempotencyKeys(), idempotencyKey, oplogKey);
                    storedInBatch.put(ByteBuffer.wrap(idempotencyKey), oplog);
                }
                results[i] = new AppendResult(oplog, false);
                committed.add(oplog);
                firstInBatch.putIfAbsent(scopeKey, oplog);
                lastInBatch.put(scopeKey, oplog); // ids grow within a scope: the later is the last
            }
            if (committed.isEmpty()) {
                return 0;
            }
            for (Map.Entry<String, Oplog> last : lastInBatch.entrySet()) {
                writeBatch.put(table.scopes(), Keys.scopeIndexKey(last.getKey()),
                        Keys.encodeHead(last.getValue().id(), last.getValue().epoch()));
            }
            if (walSync != null) {
                // before the write: a reader that sees a row of this batch must see it is not durable
                firstInBatch.forEach((scopeKey, first) -> durableHeads.hide(scopeKey, first.id(),
                        lastInBatch.get(scopeKey).id()));
            }
            long started = System.nanoTime();
            batchWriter.write(writeBatch);
            return System.nanoTime() - started;
        }
    }

    /** @return {the id for this append, the scope's epoch}: a scope's first oplog starts its timeline */
    private long[] nextId(AppendRequest request, String scopeKey) {
        long[] head = heads.get(scopeKey);
        if (head == null) {
            ScopeHead stored = table.head(request.scope());
            head = new long[]{stored.lastId(), stored.epoch() != 0 ? stored.epoch() : ScopeHead.newEpoch()};
            heads.put(scopeKey, head);
        }
        head[0]++;
        return new long[]{head[0], head[1]};
    }

    /** Runs on the writer thread: the scope's epoch changed on disk, the cached head is stale. */
    void forget(String scopeKey) {
        heads.remove(scopeKey);
    }

    /** Runs on the writer thread: every scope's epoch changed on disk. */
    void forgetAll() {
        heads.clear();
    }

    /** Only between batches: evicting a scope mid-batch would reload an id not yet written. */
    private void trimIdCache() {
        int excess = heads.size() - MAX_CACHED_SCOPES;
        for (Iterator<String> eldest = heads.keySet().iterator(); excess > 0 && eldest.hasNext(); excess--) {
            eldest.next();
            eldest.remove();
        }
    }
}
