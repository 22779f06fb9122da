package io.mss.server.records;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mss.server.store.StoreException;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Operation records in their own RocksDB ({@code <data-dir>/records}), apart from the oplogs:
 * they are written without fsync and never slow the durable path.
 *
 * <p>Keys end in big-endian {@code at} then {@code seq}, so a time range is one key range and
 * newest-first is a reverse scan. Besides the records themselves ({@code r|at|seq} → JSON)
 * there are three key-only indexes, so that a filtered query reads only what matches:
 * {@code t|type\0|at|seq}, {@code b|bizType\0|at|seq} and {@code c|bizType\0type\0|at|seq}.
 * {@code m|seq} holds the last sequence number: record ids never repeat, even after every
 * record was purged.
 */
public final class RocksDbRecordStore implements RecordStore {

    static {
        RocksDB.loadLibrary();
    }

    private static final byte RECORD = 'r';
    private static final byte BY_TYPE = 't';
    private static final byte BY_BIZ_TYPE = 'b';
    private static final byte BY_BOTH = 'c';
    private static final byte[] SEQ_KEY = {'m', 's', 'e', 'q'};
    private static final byte SEPARATOR = 0;
    private static final int PURGE_CHUNK = 10_000;

    private final ObjectMapper json = new ObjectMapper();
    private final Options options;
    private final WriteOptions writes;
    private final RocksDB db;
    private final Object appendLock = new Object();
    /** Readers hold it shared so the native handle cannot be freed under them; close holds it exclusively. */
    private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private long lastSeq;
    private boolean open = true;

    private RocksDbRecordStore(Options options, RocksDB db) throws RocksDBException {
        this.options = options;
        this.db = db;
        // an audit trail, not the durable path: the OS flushes it when it likes
        this.writes = new WriteOptions().setSync(false);
        byte[] seq = db.get(SEQ_KEY);
        this.lastSeq = seq == null ? 0 : ByteBuffer.wrap(seq).getLong();
    }

    public static RocksDbRecordStore open(Path dir) {
        Objects.requireNonNull(dir, "dir");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new StoreException("could not create the records directory " + dir + ": " + e, e);
        }
        Options options = new Options().setCreateIfMissing(true).setKeepLogFileNum(3);
        RocksDB db = null;
        try {
            db = RocksDB.open(options, dir.toString());
            return new RocksDbRecordStore(options, db);
        } catch (RocksDBException e) {
            if (db != null) {
                db.close();
            }
            options.close();
            throw new StoreException("could not open the records store at " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<OperationRecord> append(List<OperationRecord> drafts) {
        List<OperationRecord> stored = new ArrayList<>(drafts.size());
        if (drafts.isEmpty()) {
            return stored;
        }
        Lock lock = readLock();
        // one writer at a time, so that m|seq never moves backwards
        synchronized (appendLock) {
            try (WriteBatch batch = new WriteBatch()) {
                long seq = lastSeq;
                for (OperationRecord draft : drafts) {
                    OperationRecord record = draft.withId(++seq);
                    byte[] suffix = suffix(record.at(), record.id());
                    batch.put(key(prefix(RECORD, null, null), suffix), encode(record));
                    byte[] empty = new byte[0];
                    batch.put(key(prefix(BY_TYPE, record.type(), null), suffix), empty);
                    batch.put(key(prefix(BY_BIZ_TYPE, null, record.bizType()), suffix), empty);
                    batch.put(key(prefix(BY_BOTH, record.type(), record.bizType()), suffix), empty);
                    stored.add(record);
                }
                batch.put(SEQ_KEY, ByteBuffer.allocate(Long.BYTES).putLong(seq).array());
                db.write(writes, batch);
                lastSeq = seq;
            } catch (RocksDBException e) {
                throw new StoreException("could not write operation records: " + e, e);
            } finally {
                lock.unlock();
            }
        }
        return stored;
    }

    @Override
    public List<OperationRecord> query(RecordQuery query) {
        byte prefixKind = query.type() == null
                ? (query.bizType() == null ? RECORD : BY_BIZ_TYPE)
                : (query.bizType() == null ? BY_TYPE : BY_BOTH);
        byte[] prefix = prefix(prefixKind, query.type(), query.bizType());
        List<OperationRecord> found = new ArrayList<>();
        Lock lock = readLock();
        try (RocksIterator it = db.newIterator()) {
            for (it.seekForPrev(key(prefix, suffix(query.to(), -1L))); it.isValid() && found.size() < query.limit();
                 it.prev()) {
                byte[] key = it.key();
                if (!startsWith(key, prefix) || key.length != prefix.length + 2 * Long.BYTES) {
                    break;
                }
                ByteBuffer tail = ByteBuffer.wrap(key, prefix.length, 2 * Long.BYTES);
                long at = tail.getLong();
                if (at < query.from()) {
                    break;
                }
                byte[] value = prefixKind == RECORD ? it.value()
                        : db.get(key(prefix(RECORD, null, null), Arrays.copyOfRange(key, prefix.length, key.length)));
                if (value != null) {
                    found.add(decode(value));
                }
            }
            return found;
        } catch (RocksDBException e) {
            throw new StoreException("could not read operation records: " + e, e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long purgeOlderThan(long cutoffMillis) {
        byte[] prefix = prefix(RECORD, null, null);
        long purged = 0;
        while (true) {
            int deleted = 0;
            Lock lock = readLock();
            try (RocksIterator it = db.newIterator(); WriteBatch batch = new WriteBatch()) {
                for (it.seek(prefix); it.isValid() && deleted < PURGE_CHUNK; it.next()) {
                    byte[] key = it.key();
                    if (!startsWith(key, prefix)) {
                        break;
                    }
                    long at = ByteBuffer.wrap(key, prefix.length, Long.BYTES).getLong();
                    if (at >= cutoffMillis) {
                        break;
                    }
                    byte[] suffix = Arrays.copyOfRange(key, prefix.length, key.length);
                    batch.delete(key);
                    OperationRecord record = decodeOrNull(it.value());
                    if (record != null) {
                        batch.delete(key(prefix(BY_TYPE, record.type(), null), suffix));
                        batch.delete(key(prefix(BY_BIZ_TYPE, null, record.bizType()), suffix));
                        batch.delete(key(prefix(BY_BOTH, record.type(), record.bizType()), suffix));
                    }
                    deleted++;
                }
                if (deleted > 0) {
                    db.write(writes, batch);
                }
            } catch (RocksDBException e) {
                throw new StoreException("could not purge operation records: " + e, e);
            } finally {
                lock.unlock();
            }
            purged += deleted;
            if (deleted < PURGE_CHUNK) {
                return purged;
            }
        }
    }

    @Override
    public void close() {
        Lock lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (!open) {
                return;
            }
            open = false;
            try {
                db.syncWal();
            } catch (RocksDBException e) {
                // records are not the durable path; a lost tail is acceptable
            }
            db.close();
            writes.close();
            options.close();
        } finally {
            lock.unlock();
        }
    }

    private Lock readLock() {
        Lock lock = lifecycle.readLock();
        lock.lock();
        if (!open) {
            lock.unlock();
            throw new StoreException("the records store is closed");
        }
        return lock;
    }

    // ---- keys and values

    private static byte[] prefix(byte kind, OperationRecord.Type type, String bizType) {
        byte[] biz = bizType == null ? new byte[0] : bizType.getBytes(StandardCharsets.UTF_8);
        byte[] typeName = type == null ? new byte[0] : type.name().getBytes(StandardCharsets.US_ASCII);
        ByteBuffer buffer = ByteBuffer.allocate(3 + biz.length + typeName.length);
        buffer.put(kind);
        if (bizType != null) {
            buffer.put(biz).put(SEPARATOR);
        }
        if (type != null) {
            buffer.put(typeName).put(SEPARATOR);
        }
        return Arrays.copyOf(buffer.array(), buffer.position());
    }

    private static byte[] suffix(long at, long seq) {
        return ByteBuffer.allocate(2 * Long.BYTES).putLong(at).putLong(seq).array();
    }

    private static byte[] key(byte[] prefix, byte[] suffix) {
        byte[] key = Arrays.copyOf(prefix, prefix.length + suffix.length);
        System.arraycopy(suffix, 0, key, prefix.length, suffix.length);
        return key;
    }

    private static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    private byte[] encode(OperationRecord record) {
        ObjectNode node = json.createObjectNode();
        node.put("id", record.id());
        node.put("type", record.type().name());
        node.put("at", record.at());
        node.put("actor", record.actor());
        node.put("bizType", record.bizType());
        node.set("detail", record.detail());
        try {
            return json.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new StoreException("could not encode an operation record: " + e, e);
        }
    }

    private OperationRecord decode(byte[] value) {
        OperationRecord record = decodeOrNull(value);
        if (record == null) {
            throw new StoreException("a stored operation record is unreadable");
        }
        return record;
    }

    private OperationRecord decodeOrNull(byte[] value) {
        try {
            JsonNode node = json.readTree(value);
            JsonNode detail = node.path("detail");
            return new OperationRecord(node.path("id").asLong(), OperationRecord.Type.valueOf(node.path("type").asText()),
                    node.path("at").asLong(), node.path("actor").asText(), node.path("bizType").asText(),
                    detail instanceof ObjectNode object ? object : json.createObjectNode());
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }
}
