package io.mss.server.backup;

import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A consistent copy of a RocksDB database that another process has open and keeps writing to:
 * this process opens it as a RocksDB <em>secondary</em> instance (which takes no lock), catches
 * up with the owner's manifest and write-ahead log once — everything the owner has fsync'd is in
 * it — and copies that one view of every column family into a new database. Nothing of the
 * owner's is touched, and it does not need to stop.
 */
public final class LiveRocksDbCopy {
    private static final int BATCH = 1000;

    static {
        RocksDB.loadLibrary();
    }

    private LiveRocksDbCopy() {
    }

    /** @return the number of keys copied, over every column family */
    public static long copy(Path source, Path target) throws IOException {
        Path scratch = Files.createTempDirectory("mss-backup-secondary");
        try (Options listing = new Options()) {
            List<byte[]> names = RocksDB.listColumnFamilies(listing, source.toString());
            if (names.isEmpty()) {
                throw new IOException("no RocksDB database at " + source);
            }
            return copy(source, target, scratch, names);
        } catch (RocksDBException e) {
            throw new IOException("cannot copy the RocksDB database at " + source + ": " + e.getMessage(), e);
        } finally {
            deleteTree(scratch);
        }
    }

    private static long copy(Path source, Path target, Path scratch, List<byte[]> names) throws RocksDBException {
        List<ColumnFamilyDescriptor> descriptors = names.stream().map(ColumnFamilyDescriptor::new).toList();
        List<ColumnFamilyHandle> from = new ArrayList<>();
        List<ColumnFamilyHandle> to = new ArrayList<>();
        // a secondary keeps every file it reads open: the owner may delete them meanwhile
        try (DBOptions secondaryOptions = new DBOptions().setMaxOpenFiles(-1);
             DBOptions targetOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
             RocksDB secondary = RocksDB.openAsSecondary(secondaryOptions, source.toString(), scratch.toString(),
                     descriptors, from);
             RocksDB copy = RocksDB.open(targetOptions, target.toString(), descriptors, to);
             WriteOptions unsynced = new WriteOptions();
             FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
            try {
                // the one view that is copied: nothing the owner writes after this is seen
                secondary.tryCatchUpWithPrimary();
                long keys = 0;
                for (int i = 0; i < descriptors.size(); i++) {
                    keys += copyFamily(secondary, from.get(i), copy, to.get(i), unsynced);
                }
                // written unsynced, then flushed once into table files: the copy is durable as a whole
                copy.flush(flush, to);
                return keys;
            } finally {
                from.forEach(ColumnFamilyHandle::close);
                to.forEach(ColumnFamilyHandle::close);
            }
        }
    }

    private static long copyFamily(RocksDB source, ColumnFamilyHandle from, RocksDB target, ColumnFamilyHandle to,
                                   WriteOptions options) throws RocksDBException {
        long keys = 0;
        try (RocksIterator it = source.newIterator(from)) {
            WriteBatch batch = new WriteBatch();
            try {
                for (it.seekToFirst(); it.isValid(); it.next()) {
                    batch.put(to, it.key(), it.value());
                    if (++keys % BATCH == 0) {
                        target.write(options, batch);
                        batch.close();
                        batch = new WriteBatch();
                    }
                }
                it.status();
                target.write(options, batch);
            } finally {
                batch.close();
            }
        }
        return keys;
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temp dir left behind is harmless
        }
    }
}
