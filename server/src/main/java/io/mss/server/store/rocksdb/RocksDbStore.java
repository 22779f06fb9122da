package io.mss.server.store.rocksdb;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mss.server.biz.BizType;
import io.mss.server.store.AppendRequest;
import io.mss.server.store.AppendResult;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.Oplog;
import io.mss.server.store.OplogStore;
import io.mss.server.store.Scope;
import io.mss.server.store.ScopeHead;
import io.mss.server.store.SyncPoints;
import io.mss.server.store.StoreException;
import io.mss.server.store.SyncPointStore;

import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The embedded store: oplogs, idempotency keys, sync points and bizTypes in one RocksDB,
 * one column family each.
 *
 * <p>Oplog appends go through a single group-commit writer thread named {@code mss-store-writer},
 * which writes each batch and hands it to {@code mss-store-syncer} to be fsync'd and answered
 * ({@link GroupCommitWriter}); nothing is read before it is durable ({@link DurableHeads}).
 * Everything else is called directly on the caller's thread.
 */
public final class RocksDbStore implements OplogStore, SyncPointStore, BizTypeStore {

    static {
        RocksDB.loadLibrary();
    }

    private static final Logger log = LoggerFactory.getLogger(RocksDbStore.class);

    private static final String CF_OPLOG = "oplog";
    private static final String CF_IDEMPOTENCY = "idem";
    private static final String CF_SYNC_POINT = "syncpoint";
    private static final String CF_SCOPE = "scope";
    private static final String CF_BIZ_TYPE = "biztype";

    /** Enough stripes that devices acking at once rarely wait on each other. */
    private static final int SYNC_POINT_STRIPES = 64;

    /**
     * How the store is opened.
     *
     * @param fsync    whether an append's future waits for the fsync of its batch; off trades
     *                 the last batches before an OS crash (not a process crash) for throughput
     * @param maxBatch the most appends committed together
     * @param clock    stamps createdAt on appends that come without one
     */
    public record Options(boolean fsync, int maxBatch, Clock clock) {

        public Options {
            if (maxBatch < 1) {
                throw new IllegalArgumentException("maxBatch must be at least 1: " + maxBatch);
            }
            Objects.requireNonNull(clock, "clock");
        }

        public static Options defaults() {
            return new Options(true, 1024, Clock.systemUTC());
        }

        public Options withFsync(boolean fsync) {
            return new Options(fsync, maxBatch, clock);
        }

        public Options withMaxBatch(int maxBatch) {
            return new Options(fsync, maxBatch, clock);
        }

        public Options withClock(Clock clock) {
            return new Options(fsync, maxBatch, clock);
        }
    }

    private final Path dir;
    private final Clock clock;
    private final DBOptions dbOptions;
    private final ColumnFamilyOptions cfOptions;
    // not final: after a failed write (a full disk) the writer reopens the database, under the
    // exclusive lifecycle lock, so readers only ever see a complete set of live handles
    private List<ColumnFamilyHandle> handles;
    private RocksDB db;
    private ColumnFamilyHandle syncPoints;
    private ColumnFamilyHandle bizTypes;
    /**
     * A write or an fsync failed: RocksDB keeps its write-ahead log writer failed until the
     * database is reopened. Set by the writer and the syncer thread, read by the writer.
     */
    private volatile boolean writeFailed;
    private final WriteOptions oplogWrites;
    private final WriteOptions syncPointWrites;
    private final WriteOptions bizTypeWrites;
    private final OplogTable oplogTable;
    private final GroupCommitWriter writer;
    private final ObjectMapper json = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private final Object[] syncPointLocks = new Object[SYNC_POINT_STRIPES];
    private final Object bizTypeLock = new Object();

    /**
     * Readers hold it shared so the native handles cannot be freed under them (a use after
     * free crashes the JVM instead of throwing); closing holds it exclusively.
     */
    private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean acceptingAppends = true;
    private boolean closeRequested;
    private boolean open = true;

    private RocksDbStore(Path dir, Options opts, DBOptions dbOptions, ColumnFamilyOptions cfOptions,
                         List<ColumnFamilyHandle> handles, RocksDB db, UnaryOperator<BatchWriter> decorate,
                         UnaryOperator<GroupCommitWriter.WalSync> decorateSync) {
        this.dir = dir;
        this.dbOptions = dbOptions;
        this.cfOptions = cfOptions;
        this.oplogTable = new OplogTable();
        bind(db, handles);
        // with fsync on, the writer's syncer thread fsyncs the log while the next batch is written
        this.oplogWrites = new WriteOptions().setSync(false);
        // losing an ack only means redelivering an oplog the client already has
        this.syncPointWrites = new WriteOptions().setSync(false);
        this.bizTypeWrites = new WriteOptions().setSync(true);
        for (int i = 0; i < syncPointLocks.length; i++) {
            syncPointLocks[i] = new Object();
        }
        BatchWriter durableWrite = batch -> {
            // a failed write or fsync has reopened the store before this batch (Recovery)
            try {
                // the field, not the constructor's parameter: reopen replaces it
                this.db.write(oplogWrites, batch);
            } catch (RocksDBException e) {
                writeFailed = true;
                throw e;
            }
        };
        GroupCommitWriter.WalSync walSync = decorateSync.apply(() -> this.db.syncWal());
        GroupCommitWriter.WalSync lockedSync = () -> {
            try {
                Lock lock = readLock(); // the syncer thread is a reader: no reopen or close frees the handle under it
                try {
                    walSync.sync();
                } finally {
                    lock.unlock();
                }
            } catch (Throwable t) {
                writeFailed = true; // whatever failed, the next batch reopens the store
                throw t;
            }
        };
        this.writer = new GroupCommitWriter(oplogTable, decorate.apply(durableWrite),
                opts.fsync() ? lockedSync : null, new GroupCommitWriter.Recovery() {
                    @Override
                    public boolean needed() {
                        return writeFailed;
                    }

                    @Override
                    public void reopen() throws RocksDBException {
                        RocksDbStore.this.reopen();
                    }
                }, opts.maxBatch(), opts.clock(), this::writerExited);
        this.clock = opts.clock();
    }

    public static RocksDbStore open(Path dir) {
        return open(dir, Options.defaults());
    }

    public static RocksDbStore open(Path dir, Options opts) {
        return open(dir, opts, UnaryOperator.identity());
    }

    /**
     * Runs on the writer thread, before the first batch after a failed write or fsync, with no
     * batch in flight. Reopening replays the write-ahead log, so nothing stored before is lost;
     * if it fails (the disk is still full) the store answers "unavailable" until a later batch
     * tries again.
     */
    private void reopen() throws RocksDBException {
        Lock lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (!open) {
                throw new RocksDBException("store at " + dir + " is closed");
            }
            if (db != null) {
                handles.forEach(ColumnFamilyHandle::close);
                db.close();
                db = null;
            }
            List<ColumnFamilyHandle> fresh = new ArrayList<>();
            RocksDB reopened = RocksDB.open(dbOptions, dir.toString(), descriptors(cfOptions), fresh);
            bind(reopened, fresh);
            writeFailed = false;
            log.warn("Store at {} reopened after a failed write; storing again", dir);
        } finally {
            lock.unlock();
        }
    }

    private void bind(RocksDB db, List<ColumnFamilyHandle> handles) {
        this.db = db;
        this.handles = handles;
        // handles come back in descriptor order: default, oplog, idem, syncpoint, biztype, scope
        this.oplogTable.bind(db, handles.get(1), handles.get(2), handles.get(5));
        this.syncPoints = handles.get(3);
        this.bizTypes = handles.get(4);
    }

    private static List<ColumnFamilyDescriptor> descriptors(ColumnFamilyOptions cfOptions) {
        return List.of(
                new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
                new ColumnFamilyDescriptor(bytes(CF_OPLOG), cfOptions),
                new ColumnFamilyDescriptor(bytes(CF_IDEMPOTENCY), cfOptions),
                new ColumnFamilyDescriptor(bytes(CF_SYNC_POINT), cfOptions),
                new ColumnFamilyDescriptor(bytes(CF_BIZ_TYPE), cfOptions),
                new ColumnFamilyDescriptor(bytes(CF_SCOPE), cfOptions));
    }

    /** @param decorate wraps the batch write; tests use it to make writes fail */
    static RocksDbStore open(Path dir, Options opts, UnaryOperator<BatchWriter> decorate) {
        return open(dir, opts, decorate, UnaryOperator.identity());
    }

    /** @param decorateSync wraps the fsync of written batches; tests use it to hold or fail one */
    static RocksDbStore open(Path dir, Options opts, UnaryOperator<BatchWriter> decorate,
                             UnaryOperator<GroupCommitWriter.WalSync> decorateSync) {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(opts, "opts");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new StoreException("could not create store directory " + dir + ": " + e, e);
        }
        ColumnFamilyOptions cfOptions = new ColumnFamilyOptions();
        DBOptions dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
        List<ColumnFamilyDescriptor> descriptors = descriptors(cfOptions);
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        RocksDB db = null;
        try {
            db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
            RocksDbStore store = new RocksDbStore(dir, opts, dbOptions, cfOptions, handles, db, decorate, decorateSync);
            // before the writer starts: scopes stored before epochs existed get their first one
            int upgraded = store.newEpochs(head -> head.length < 2 * Long.BYTES);
            if (upgraded > 0) {
                log.info("Store at {}: gave {} scopes stored before epochs existed an epoch", dir, upgraded);
            }
            store.writer.startBoth();
            return store;
        } catch (RocksDBException | RuntimeException e) {
            handles.forEach(ColumnFamilyHandle::close);
            if (db != null) {
                db.close();
            }
            dbOptions.close();
            cfOptions.close();
            if (e instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new StoreException("could not open store at " + dir + ": " + e.getMessage(), e);
        }
    }

    // ---- OplogStore

    @Override
    public CompletableFuture<AppendResult> append(AppendRequest request) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(request.scope(), "request.scope");
        Objects.requireNonNull(request.linkToken(), "request.linkToken");
        Objects.requireNonNull(request.payload(), "request.payload");
        // rejected here rather than failing the whole batch it would land in
        Keys.scopePrefix(request.scope().key());
        CompletableFuture<AppendResult> future = new CompletableFuture<>();
        Lock lock = lifecycle.readLock();
        lock.lock();
        try {
            if (!acceptingAppends) {
                future.completeExceptionally(new StoreException("store at " + dir + " is closed"));
            } else {
                writer.submit(request, future);
            }
        } finally {
            lock.unlock();
        }
        return future;
    }

    /** Counts every group commit's size and durable-write time into these meters. */
    @Override
    public void meterInto(io.mss.server.metrics.MssMetrics metrics) {
        writer.metrics = metrics;
    }

    @Override
    public void onCommit(Consumer<List<Oplog>> listener) {
        writer.addListener(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public List<Oplog> read(Scope scope, long afterId, int maxCount) {
        Objects.requireNonNull(scope, "scope");
        Lock lock = readLock();
        try {
            // rows come before the entry that hides them: see DurableHeads
            List<Oplog> oplogs = oplogTable.read(scope, afterId, maxCount);
            return writer.durableHeads.visible(scope.key(), oplogs);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public ScopeHead head(Scope scope) {
        Objects.requireNonNull(scope, "scope");
        Lock lock = readLock();
        try {
            // the writer puts a batch in RocksDB before completing its futures, so disk is never
            // behind; it may be ahead of what is durable, which readers must not see
            ScopeHead head = oplogTable.head(scope);
            return writer.durableHeads.visible(scope.key(), head);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<Scope> scopes(String bizType) {
        byte[] prefix = Keys.bizTypeScopesPrefix(bizType);
        List<Scope> scopes = new ArrayList<>();
        Lock lock = readLock();
        try (RocksIterator it = db.newIterator(oplogTable.scopes())) {
            for (it.seek(prefix); it.isValid() && Keys.startsWith(it.key(), prefix); it.next()) {
                scopes.add(Keys.parseScopeKey(new String(it.key(), StandardCharsets.UTF_8)));
            }
            return scopes;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean hasData(String bizType) {
        for (Scope scope : scopes(bizType)) {
            if (!read(scope, 0, 1).isEmpty()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void trim(Scope scope, long upToId) {
        if (upToId < 1) {
            return;
        }
        byte[] prefix = Keys.scopePrefix(scope.key());
        Lock lock = readLock();
        try {
            // one range tombstone instead of a delete per oplog
            db.deleteRange(oplogTable.oplogs(), Keys.oplogKey(prefix, 1), Keys.oplogKey(prefix, upToId + 1));
        } catch (RocksDBException e) {
            throw new StoreException("could not trim scope " + scope + " up to " + upToId + ": " + e, e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long purgeExpired(Scope scope, long now, long retentionMillis) {
        long deleted = 0;
        long after = 0;
        while (true) {
            List<Oplog> page = read(scope, after, 1000);
            if (page.isEmpty()) {
                return deleted;
            }
            byte[] prefix = Keys.scopePrefix(scope.key());
            Lock lock = readLock();
            try (org.rocksdb.WriteBatch batch = new org.rocksdb.WriteBatch()) {
                for (Oplog oplog : page) {
                    boolean expired = oplog.createdAt() + retentionMillis < now
                            || (oplog.validUntil() != 0 && oplog.validUntil() < now);
                    if (expired) {
                        batch.delete(oplogTable.oplogs(), Keys.oplogKey(prefix, oplog.id()));
                        if (oplog.thirdMsgId() != null) {
                            batch.delete(oplogTable.idempotencyKeys(), Keys.idempotencyKey(scope.bizType(),
                                    scope.owner(), oplog.thirdMsgId()));
                        }
                        deleted++;
                    }
                }
                db.write(syncPointWrites, batch);
            } catch (RocksDBException e) {
                throw new StoreException("could not purge scope " + scope + ": " + e, e);
            } finally {
                lock.unlock();
            }
            after = page.get(page.size() - 1).id();
        }
    }

    /**
     * On the writer thread, between batches: the epochs drawn here must reach the writer's
     * cached heads before its next append to these scopes, and no append may land half-way.
     */
    @Override
    public void deleteData(String bizType) {
        onWriter("delete the data of bizType " + bizType, () -> {
            Lock lock = readLock();
            try (org.rocksdb.WriteBatch batch = new org.rocksdb.WriteBatch()) {
                deleteDataInto(batch, bizType);
                db.write(bizTypeWrites, batch);
            } catch (RocksDBException e) {
                throw new StoreException("could not delete the data of bizType " + bizType + ": " + e, e);
            } finally {
                lock.unlock();
            }
        });
    }

    /**
     * Adds to {@code batch} the deletion of the bizType's oplogs and idempotency keys, and a new
     * epoch for each of its scopes (ids kept). Runs on the writer thread, whose cached heads of
     * these scopes it drops.
     */
    private void deleteDataInto(org.rocksdb.WriteBatch batch, String bizType) throws RocksDBException {
        for (Scope scope : scopes(bizType)) {
            byte[] prefix = Keys.scopePrefix(scope.key());
            batch.deleteRange(oplogTable.oplogs(), prefix, Keys.scopeUpperBound(prefix));
            ScopeHead head = oplogTable.head(scope);
            batch.put(oplogTable.scopes(), Keys.scopeIndexKey(scope.key()),
                    Keys.encodeHead(head.lastId(), ScopeHead.newEpoch()));
            writer.forget(scope.key());
        }
        byte[] idem = Keys.idempotencyPrefix(bizType);
        byte[] idemEnd = idem.clone();
        idemEnd[idemEnd.length - 1]++;
        batch.deleteRange(oplogTable.idempotencyKeys(), idem, idemEnd);
    }

    @Override
    public void startNewTimelines() {
        onWriter("start new timelines", () -> {
            Lock lock = readLock();
            try {
                newEpochs(head -> true);
                writer.forgetAll();
            } catch (RocksDBException e) {
                throw new StoreException("could not start new timelines: " + e, e);
            } finally {
                lock.unlock();
            }
        });
    }

    /** Gives a new epoch to every scope head that {@code which} picks; returns how many. */
    private int newEpochs(java.util.function.Predicate<byte[]> which) throws RocksDBException {
        int changed = 0;
        try (RocksIterator it = db.newIterator(oplogTable.scopes());
             org.rocksdb.WriteBatch batch = new org.rocksdb.WriteBatch()) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                if (which.test(it.value())) {
                    batch.put(oplogTable.scopes(), it.key(),
                            Keys.encodeHead(Keys.decodeHead(it.value()).lastId(), ScopeHead.newEpoch()));
                    changed++;
                }
            }
            it.status();
            if (changed > 0) {
                db.write(bizTypeWrites, batch);
            }
        }
        return changed;
    }

    /** Runs the change on the writer thread and waits for it; the caller must not hold the lifecycle lock. */
    private void onWriter(String what, Runnable change) {
        CompletableFuture<AppendResult> done;
        Lock lock = lifecycle.readLock();
        lock.lock();
        try {
            if (!acceptingAppends) {
                throw new StoreException("could not " + what + ": store at " + dir + " is closed");
            }
            done = writer.submitTask(change);
        } finally {
            lock.unlock();
        }
        try {
            done.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof StoreException store) {
                throw store;
            }
            throw new StoreException("could not " + what + ": " + e.getCause(), e.getCause());
        }
    }

    // ---- SyncPointStore

    @Override
    public Position position(String deviceId, Scope scope) {
        byte[] key = Keys.syncPointKey(Objects.requireNonNull(deviceId, "deviceId"), scope.key());
        Lock lock = readLock();
        try {
            return readSyncPoint(key);
        } catch (RocksDBException e) {
            throw new StoreException("could not read the sync point of device " + deviceId + " in " + scope
                    + ": " + e, e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void advance(String deviceId, Scope scope, long epoch, long id) {
        writeSyncPoint(deviceId, scope, epoch, id, false);
    }

    @Override
    public void reset(String deviceId, Scope scope, long epoch, long id) {
        writeSyncPoint(deviceId, scope, epoch, id, true);
    }

    private void writeSyncPoint(String deviceId, Scope scope, long epoch, long id, boolean reset) {
        byte[] key = Keys.syncPointKey(Objects.requireNonNull(deviceId, "deviceId"), scope.key());
        Lock lock = readLock();
        try {
            // two acks of one device racing must not let the lower one win
            synchronized (syncPointLocks[Math.floorMod(Arrays.hashCode(key), SYNC_POINT_STRIPES)]) {
                Position stored = readSyncPoint(key);
                Position next = reset ? new Position(epoch, id) : SyncPoints.advanced(stored, epoch, id);
                if (!next.equals(stored) || reset) {
                    db.put(syncPoints, syncPointWrites, key, Keys.encodeSyncPoint(next, clock.millis()));
                }
            }
        } catch (RocksDBException e) {
            throw new StoreException("could not advance the sync point of device " + deviceId + " in " + scope
                    + " to " + id + ": " + e, e);
        } finally {
            lock.unlock();
        }
    }

    private Position readSyncPoint(byte[] key) throws RocksDBException {
        byte[] value = db.get(syncPoints, key);
        return value == null ? Position.NONE : Keys.decodeSyncPoint(value).position();
    }

    @Override
    public List<DeviceSyncPoint> list(Scope scope) {
        byte[] prefix = Keys.syncPointPrefix(scope.key());
        List<DeviceSyncPoint> points = new ArrayList<>();
        Lock lock = readLock();
        try (RocksIterator it = db.newIterator(syncPoints)) {
            for (it.seek(prefix); it.isValid() && Keys.startsWith(it.key(), prefix); it.next()) {
                byte[] key = it.key();
                String deviceId = new String(key, prefix.length, key.length - prefix.length, StandardCharsets.UTF_8);
                Keys.StoredSyncPoint stored = Keys.decodeSyncPoint(it.value());
                points.add(new DeviceSyncPoint(deviceId, stored.position().id(), stored.ackedAt(),
                        stored.position().epoch()));
            }
            return points;
        } finally {
            lock.unlock();
        }
    }

    // ---- BizTypeStore

    @Override
    public Optional<BizType> get(String id) {
        Objects.requireNonNull(id, "id");
        Lock lock = readLock();
        try {
            byte[] value = db.get(bizTypes, Keys.bizTypeKey(id));
            return value == null ? Optional.empty() : Optional.of(decodeBizType(id, value));
        } catch (RocksDBException e) {
            throw new StoreException("could not read bizType " + id + ": " + e, e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<BizType> list() {
        Lock lock = readLock();
        try (RocksIterator it = db.newIterator(bizTypes)) {
            List<BizType> result = new ArrayList<>();
            // UTF-8 byte order is code point order, and ids are ASCII anyway
            for (it.seekToFirst(); it.isValid(); it.next()) {
                result.add(decodeBizType(new String(it.key(), StandardCharsets.UTF_8), it.value()));
            }
            it.status();
            return result;
        } catch (RocksDBException e) {
            throw new StoreException("could not list bizTypes: " + e, e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void put(BizType bizType) {
        Objects.requireNonNull(bizType, "bizType");
        Objects.requireNonNull(bizType.id(), "bizType.id");
        byte[] value;
        try {
            value = json.writeValueAsBytes(bizType);
        } catch (JsonProcessingException e) {
            throw new StoreException("could not encode bizType " + bizType.id() + ": " + e, e);
        }
        Lock lock = readLock();
        try {
            synchronized (bizTypeLock) {
                db.put(bizTypes, bizTypeWrites, Keys.bizTypeKey(bizType.id()), value);
            }
        } catch (RocksDBException e) {
            throw new StoreException("could not store bizType " + bizType.id() + ": " + e, e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean delete(String id) {
        Objects.requireNonNull(id, "id");
        byte[] key = Keys.bizTypeKey(id);
        Lock lock = readLock();
        try {
            // so that of two concurrent deletes only one reports that it existed
            synchronized (bizTypeLock) {
                if (db.get(bizTypes, key) == null) {
                    return false;
                }
                db.delete(bizTypes, bizTypeWrites, key);
                return true;
            }
        } catch (RocksDBException e) {
            throw new StoreException("could not delete bizType " + id + ": " + e, e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean create(BizType bizType) {
        Objects.requireNonNull(bizType, "bizType");
        Lock lock = readLock();
        try {
            // one process opens the database: this lock serializes every writer of bizTypes
            synchronized (bizTypeLock) {
                if (get(bizType.id()).isPresent()) {
                    return false;
                }
                put(bizType);
                return true;
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Optional<Change> update(String id, java.util.function.UnaryOperator<BizType> change) {
        Objects.requireNonNull(id, "id");
        Lock lock = readLock();
        try {
            synchronized (bizTypeLock) {
                Optional<BizType> current = get(id);
                if (current.isEmpty()) {
                    return Optional.empty();
                }
                BizType updated = change.apply(current.get());
                put(updated);
                return Optional.of(new Change(current.get(), updated));
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Deletion deleteWithData(String id, boolean force) {
        Objects.requireNonNull(id, "id");
        // on the writer thread, so no append lands half-way and the writer's cached epochs follow;
        // the caller holds no lock while it waits (the writer may need the exclusive one to
        // reopen), and the task takes them in the order every writer of bizTypes does: the
        // lifecycle lock, then the bizType lock
        Deletion[] result = new Deletion[1];
        onWriter("delete bizType " + id, () -> {
            Lock lock = readLock();
            try {
                synchronized (bizTypeLock) {
                    Optional<BizType> current = get(id);
                    if (current.isEmpty()) {
                        result[0] = new Deletion(null, false, false);
                        return;
                    }
                    boolean hadData = hasData(id);
                    if (hadData && !force) {
                        result[0] = new Deletion(current.get(), true, false);
                        return;
                    }
                    // the configuration and its data in one atomic write: a create of the same id
                    // waits for the bizType lock, so it cannot slip in before the data is gone
                    try (org.rocksdb.WriteBatch batch = new org.rocksdb.WriteBatch()) {
                        batch.delete(bizTypes, Keys.bizTypeKey(id));
                        deleteDataInto(batch, id);
                        db.write(bizTypeWrites, batch);
                    }
                    result[0] = new Deletion(current.get(), hadData, true);
                }
            } catch (RocksDBException e) {
                throw new StoreException("could not delete bizType " + id + ": " + e, e);
            } finally {
                lock.unlock();
            }
        });
        return result[0];
    }

    private BizType decodeBizType(String id, byte[] value) {
        try {
            return json.readValue(value, BizType.class);
        } catch (IOException e) {
            throw new StoreException("stored bizType " + id + " is unreadable: " + e, e);
        }
    }

    // ---- lifecycle

    /**
     * Stops taking appends, lets the writer commit everything already queued, then frees the
     * database. Idempotent. Called from an onCommit listener, it returns at once and the
     * writer frees the database when it has drained the queue.
     */
    @Override
    public void close() {
        Lock lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (closeRequested) {
                if (writer.isStoreThread()) {
                    return;
                }
            } else {
                closeRequested = true;
                acceptingAppends = false;
                writer.stop();
            }
        } finally {
            lock.unlock();
        }
        if (writer.isStoreThread()) {
            return;
        }
        writer.awaitExit();
        writer.awaitSyncerExit();
        releaseNatives();
    }

    /** Runs on the writer thread as its last act, whether it was stopped or died. */
    private void writerExited() {
        writer.stopSyncer();
        Lock lock = lifecycle.writeLock();
        lock.lock();
        try {
            acceptingAppends = false;
        } finally {
            lock.unlock();
        }
        writer.failQueued(new StoreException("store at " + dir + " is closed"));
        boolean closing;
        lock.lock();
        try {
            closing = closeRequested;
        } finally {
            lock.unlock();
        }
        if (closing) {
            releaseNatives();
        }
    }

    private void releaseNatives() {
        Lock lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (!open) {
                return;
            }
            open = false;
            try {
                // sync points are written without sync; a clean shutdown should still keep them
                if (db != null) {
                    db.syncWal();
                }
            } catch (RocksDBException e) {
                log.warn("Could not sync the WAL of {} before closing", dir, e);
            }
            // column family handles must go before the DB, options only after it
            if (db != null) {
                handles.forEach(ColumnFamilyHandle::close);
                try {
                    db.closeE();
                } catch (RocksDBException e) {
                    log.warn("Closing the store at {} reported an error", dir, e);
                }
            }
            oplogWrites.close();
            syncPointWrites.close();
            bizTypeWrites.close();
            dbOptions.close();
            cfOptions.close();
        } finally {
            lock.unlock();
        }
    }

    /** Takes the shared lock, or throws when the database is already freed. */
    private Lock readLock() {
        Lock lock = lifecycle.readLock();
        lock.lock();
        if (!open) {
            lock.unlock();
            throw new StoreException("store at " + dir + " is closed");
        }
        if (db == null) {
            lock.unlock();
            throw new StoreException("store at " + dir + " is unavailable: reopening after a failed write (disk full?)");
        }
        return lock;
    }

    private static byte[] bytes(String name) {
        return name.getBytes(StandardCharsets.UTF_8);
    }
}
