package io.mss.server.cluster;

import io.mss.server.store.Scope;

import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One node: every commit happens here, and the store's commit listener already hands it to
 * the local sessions, so there is nothing to tell anybody.
 */
public final class LocalBus implements ClusterBus {
    private final Supplier<NodeInfo> self;

    public LocalBus(Supplier<NodeInfo> self) {
        this.self = self;
    }

    @Override
    public void advanced(Map<Scope, Long> heads) {
    }

    @Override
    public void configChanged(String bizTypeId) {
    }

    @Override
    public void onAdvanced(BiConsumer<Scope, Long> listener) {
    }

    @Override
    public void onConfigChanged(Consumer<String> listener) {
    }

    @Override
    public boolean healthy() {
        return true;
    }

    @Override
    public List<NodeInfo> nodes() {
        return List.of(self.get());
    }

    @Override
    public void close() {
    }
}
