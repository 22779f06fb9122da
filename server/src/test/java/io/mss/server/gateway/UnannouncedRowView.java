package io.mss.server.gateway;

import io.mss.server.store.ForwardingOplogStore;
import io.mss.server.store.Oplog;
import io.mss.server.store.OplogStore;
import io.mss.server.store.Scope;
import io.mss.server.store.ScopeHead;

import java.util.ArrayList;
import java.util.List;

/**
 * The store as a PostgreSQL standby's promotion leaves it for a moment: reads also return one row
 * above the head that no writer announced (a commit the failed primary made visible and the
 * standby never got). Everything else is the real store underneath.
 */
final class UnannouncedRowView extends ForwardingOplogStore {
    volatile boolean showRow;

    UnannouncedRowView(OplogStore store) {
        super(store);
    }

    @Override
    public List<Oplog> read(Scope scope, long afterId, int maxCount) {
        List<Oplog> rows = new ArrayList<>(store.read(scope, afterId, maxCount));
        ScopeHead head = store.head(scope);
        if (showRow && rows.size() < maxCount && head.lastId() > afterId) {
            rows.add(new Oplog(scope, head.lastId() + 1, "unannounced", null, System.currentTimeMillis(), 0, 0,
                    null, head.epoch()));
        }
        return rows;
    }

    @Override
    public void close() {
        // the gateway closes the store underneath
    }
}
