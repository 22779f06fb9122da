package io.mss.server.store;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** A real store seen through a test's view: every call goes to it unless the view overrides it. */
public class ForwardingOplogStore implements OplogStore {
    protected final OplogStore store;

    public ForwardingOplogStore(OplogStore store) {
        this.store = store;
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
    public List<Oplog> read(Scope scope, long afterId, int maxCount) {
        return store.read(scope, afterId, maxCount);
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
        store.close();
    }
}
