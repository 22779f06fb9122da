package io.mss.server.store.rocksdb;

import io.mss.server.store.Oplog;
import io.mss.server.store.ScopeHead;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How far readers may see each scope while a batch is written but its fsync has not returned.
 * The writer puts a batch into RocksDB without waiting for the disk and fsyncs it on another
 * thread while it writes the next one, so for a moment RocksDB holds rows that a power loss
 * would take back. A device that got one of them would keep a sync point above ids the store
 * hands out again after the restart, and never receive what gets those ids. So each scope with
 * rows not yet durable has an entry here, its last durable id, and {@link #visible} cuts every
 * head and every read of that scope there.
 *
 * <p>The writer thread hides a scope's new ids before it writes a batch; the syncer thread
 * marks them durable once the fsync returned, and the entry goes when nothing written is left
 * above it. Both change an entry atomically ({@code compute}), so a batch written while the one
 * before is fsync'd stays hidden. Readers read RocksDB first, then the entry: a row they saw was
 * written after its entry was put, so they cannot miss it. A batch whose fsync failed stays
 * hidden until the store is reopened from its log ({@link #showAll}).
 */
final class DurableHeads {

    /** The last durable id of a scope, and the last id written to it. */
    private record Entry(long lastDurable, long lastWritten) {
    }

    /** Per scope key with rows written above its last durable id. */
    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

    /**
     * Writer thread, before the write: the scope's ids above {@code firstId - 1} up to
     * {@code lastId} are written but not durable yet (unless an earlier batch already hid it lower).
     */
    void hide(String scopeKey, long firstId, long lastId) {
        entries.compute(scopeKey, (key, entry) -> entry == null ? new Entry(firstId - 1, lastId)
                : new Entry(entry.lastDurable(), Math.max(entry.lastWritten(), lastId)));
    }

    /** After an fsync: the scope is durable up to {@code lastId}; shown in full when nothing was written above. */
    void durable(String scopeKey, long lastId) {
        entries.computeIfPresent(scopeKey, (key, entry) -> lastId >= entry.lastWritten() ? null
                : new Entry(Math.max(entry.lastDurable(), lastId), entry.lastWritten()));
    }

    /** Writer thread, after it reopened the database from its log with nothing in flight: all it holds counts. */
    void showAll() {
        entries.clear();
    }

    /** The head as durable: its last id cut at the scope's last durable one. */
    ScopeHead visible(String scopeKey, ScopeHead head) {
        Entry entry = entries.get(scopeKey);
        if (entry == null || head.lastId() <= entry.lastDurable()) {
            return head;
        }
        // a scope whose first rows are not durable has no durable timeline yet
        return entry.lastDurable() == 0 ? ScopeHead.NONE : new ScopeHead(head.epoch(), entry.lastDurable());
    }

    /** The oplogs of one scope, ascending, without those not durable yet. */
    List<Oplog> visible(String scopeKey, List<Oplog> oplogs) {
        Entry entry = entries.get(scopeKey);
        if (entry == null || oplogs.isEmpty() || oplogs.get(oplogs.size() - 1).id() <= entry.lastDurable()) {
            return oplogs;
        }
        int durable = 0;
        while (durable < oplogs.size() && oplogs.get(durable).id() <= entry.lastDurable()) {
            durable++;
        }
        return oplogs.subList(0, durable);
    }
}
