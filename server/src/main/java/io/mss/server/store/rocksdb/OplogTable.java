package io.mss.server.store.rocksdb;

import io.mss.server.store.Oplog;
import io.mss.server.store.Scope;
import io.mss.server.store.ScopeHead;
import io.mss.server.store.StoreException;

import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;

import java.util.ArrayList;
import java.util.List;

/** Reads of the {@code oplog} and {@code idem} column families, shared by readers and the writer. */
final class OplogTable {

    // rebound when the store reopens its database; the store's lifecycle lock orders that
    // against every reader, and the writer thread is the one that reopens
    private volatile RocksDB db;
    private volatile ColumnFamilyHandle oplogs;
    private volatile ColumnFamilyHandle idempotencyKeys;
    /**
     * scope key -> its head: the highest id ever assigned (survives purging, so ids never
     * restart) and the epoch of its timeline, see {@link Keys#encodeHead}.
     */
    private volatile ColumnFamilyHandle scopes;

    void bind(RocksDB db, ColumnFamilyHandle oplogs, ColumnFamilyHandle idempotencyKeys, ColumnFamilyHandle scopes) {
        this.db = db;
        this.oplogs = oplogs;
        this.idempotencyKeys = idempotencyKeys;
        this.scopes = scopes;
    }

    ColumnFamilyHandle scopes() {
        return scopes;
    }

    ColumnFamilyHandle oplogs() {
        return oplogs;
    }

    ColumnFamilyHandle idempotencyKeys() {
        return idempotencyKeys;
    }

    /** The scope's epoch and highest id ever assigned; {@link ScopeHead#NONE} when it never had an oplog. */
    ScopeHead head(Scope scope) {
        try (ReadOptions latest = new ReadOptions()) {
            return head(scope, latest);
        }
    }

    /** The head as {@code options} see it (a snapshot, for reads that must agree with it). */
    private ScopeHead head(Scope scope, ReadOptions options) {
        try {
            byte[] head = db.get(scopes, options, Keys.scopeIndexKey(scope.key()));
            if (head != null) {
                return Keys.decodeHead(head);
            }
        } catch (RocksDBException e) {
            throw new StoreException("could not read the head of scope " + scope + ": " + e, e);
        }
        long stored = lastStoredId(scope);
        return stored == 0 ? ScopeHead.NONE : new ScopeHead(0, stored);
    }

    /** The highest id still on disk in the scope, 0 when it has none. */
    long lastStoredId(Scope scope) {
        byte[] prefix = Keys.scopePrefix(scope.key());
        try (Slice lower = new Slice(prefix);
             Slice upper = new Slice(Keys.scopeUpperBound(prefix));
             ReadOptions options = new ReadOptions().setIterateLowerBound(lower).setIterateUpperBound(upper);
             RocksIterator it = db.newIterator(oplogs, options)) {
            it.seekToLast();
            if (it.isValid()) {
                return Keys.oplogId(it.key());
            }
            it.status();
            return 0;
        } catch (RocksDBException e) {
            throw new StoreException("could not read the last oplog id of scope " + scope + ": " + e, e);
        }
    }

    List<Oplog> read(Scope scope, long afterId, int maxCount) {
        if (maxCount < 0) {
            throw new IllegalArgumentException("maxCount must not be negative: " + maxCount);
        }
        if (maxCount == 0 || afterId == Long.MAX_VALUE) {
            return List.of();
        }
        byte[] prefix = Keys.scopePrefix(scope.key());
        // ids start at 1, and a negative afterId would sort after every id as unsigned bytes
        byte[] from = Keys.oplogKey(prefix, Math.max(afterId, 0) + 1);
        List<Oplog> result = new ArrayList<>(Math.min(maxCount, 256));
        // the epoch and the oplogs from one snapshot: a deletion that starts a new timeline in
        // between must not label oplogs of one timeline with the epoch of the other
        org.rocksdb.Snapshot snapshot = db.getSnapshot();
        try (Slice lower = new Slice(from);
             Slice upper = new Slice(Keys.scopeUpperBound(prefix));
             ReadOptions options = new ReadOptions().setIterateLowerBound(lower).setIterateUpperBound(upper)
                     .setSnapshot(snapshot);
             RocksIterator it = db.newIterator(oplogs, options)) {
            long epoch = head(scope, options).epoch();
            for (it.seek(from); it.isValid() && result.size() < maxCount; it.next()) {
                result.add(OplogCodec.decode(scope, Keys.oplogId(it.key()), it.value()).withEpoch(epoch));
            }
            it.status();
            return result;
        } catch (RocksDBException e) {
            throw new StoreException("could not read oplogs of scope " + scope + " after " + afterId + ": " + e, e);
        } finally {
            db.releaseSnapshot(snapshot);
        }
    }

    /**
     * The oplog first stored with the idempotency key, or null when there is none. An entry
     * whose oplog is gone (expired and purged) does not count: the push is then new again.
     */
    Oplog findByIdempotencyKey(byte[] idempotencyKey) throws RocksDBException {
        byte[] oplogKey = db.get(idempotencyKeys, idempotencyKey);
        if (oplogKey == null) {
            return null;
        }
        byte[] value = db.get(oplogs, oplogKey);
        if (value == null) {
            return null;
        }
        Scope scope = Keys.parseScopeKey(Keys.scopeKeyOf(oplogKey));
        return OplogCodec.decode(scope, Keys.oplogId(oplogKey), value).withEpoch(head(scope).epoch());
    }
}
