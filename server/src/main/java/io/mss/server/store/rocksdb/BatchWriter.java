package io.mss.server.store.rocksdb;

import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

/**
 * Makes one group-committed batch durable. An interface only so that a test can fail a
 * write the way a full or broken disk would.
 */
@FunctionalInterface
interface BatchWriter {
    void write(WriteBatch batch) throws RocksDBException;
}
