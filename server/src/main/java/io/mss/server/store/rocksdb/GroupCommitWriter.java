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

/**
 * How the embedded store writes a batch: ids from a per-scope cache (only the writer thread
 * assigns them, so they need no locking), the whole batch in one RocksDB WriteBatch, one fsync.
 */
final class GroupCommitWriter extends SingleWriter {

    private static final Logger log = LoggerFactory.getLogger(GroupCommitWriter.class);

    /** Bounds the id cache; an evicted scope just costs one reverse seek on its next append. */
    private static final int MAX_CACHED_SCOPES = 100_000;

    private final OplogTable table;
    private final BatchWriter batchWriter;
    private final Clock clock;
    /** Where batch sizes and durable-write times go; null until the server attaches its meters. */
    volatile MssMetrics metrics;

    /** Head per scope key, {lastId, epoch}; touched only by the writer thread (tasks included). */
    private final LinkedHashMap<String, long[]> heads = new LinkedHashMap<>(1024, 0.75f, true);

    GroupCommitWriter(OplogTable table, BatchWriter batchWriter, int maxBatch, Clock clock, Runnable onExit) {
        super(maxBatch, onExit);
        this.table = table;
        this.batchWriter = batchWriter;
        this.clock = clock;
    }

    @Override
    protected void commit(List<Pending> batch) {
        AppendResult[] results = new AppendResult[batch.size()];
        List<Oplog> committed = new ArrayList<>();
        Set<String> touchedScopes = new HashSet<>();
        try {
            write(batch, results, committed, touchedScopes);
        } catch (Throwable t) {
            // the ids handed out for this batch were never stored: reload them from disk
            touchedScopes.forEach(heads::remove);
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
        committed(committed);
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
            }
            if (!committed.isEmpty()) {
                Map<String, Oplog> lastInBatch = new HashMap<>();
                for (Oplog oplog : committed) {
                    lastInBatch.merge(oplog.scope().key(), oplog, (a, b) -> a.id() >= b.id() ? a : b);
                }
                lastInBatch.forEach((scopeKey, last) -> {
                    try {
                        writeBatch.put(table.scopes(), Keys.scopeIndexKey(scopeKey),
                                Keys.encodeHead(last.id(), last.epoch()));
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
