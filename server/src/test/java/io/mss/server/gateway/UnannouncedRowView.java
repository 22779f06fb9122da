package io.mss.server.gateway;

import io.mss.server.store.AppendRequest;
import io.mss.server.store.AppendResult;
import io.mss.server.store.Oplog;
import io.mss.server.store.OplogStore;
import io.mss.server.store.Scope;
import io.mss.server.store.ScopeHead;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The store as a PostgreSQL standby's promotion leaves it for a moment: reads also return one row
 * above the head that no writer announced (a commit the failed primary made visible and the
 * standby never got). Everything else is the real store underneath.
 */
final class UnannouncedRowView implements OplogStore {
    private final OplogStore store;
    volatile boolean showRow;

    UnannouncedRowView(OplogStore store) {
        this.store = store;
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
    public CompletableFuture<AppendResult> append(AppendRequest request) {
        return store.append(request);
    }

    @Override
    public void onCommit(Consumer<List<Oplog>> listener) {
        store.onCommit(listener);
    }

    @Override
    public ScopeHead head(Scope scope) {
        return store.head(scope);
    }

    @Override
    public List<Scope> scopes(String bizType) {
        return store.scopes(bizType);
    }

    @Override
    public boolean hasData(String bizType) {
        return store.hasData(bizType);
    }

    @Override
    public void trim(Scope scope, long upToId) {
        store.trim(scope, upToId);
    }

    @Override
    public long purgeExpired(Scope scope, long now, long retentionMillis) {
        return store.purgeExpired(scope, now, retentionMillis);
    }

    @Override
    public void deleteData(String bizType) {
        store.deleteData(bizType);
    }

    @Override
    public void startNewTimelines() {
        store.startNewTimelines();
    }

    @Override
    public void close() {
        // the gateway closes the store underneath
    }
}
