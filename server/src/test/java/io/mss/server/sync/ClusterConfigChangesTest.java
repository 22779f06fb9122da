package io.mss.server.sync;

import io.mss.server.biz.BizType;
import io.mss.server.cluster.ClusterBus;
import io.mss.server.cluster.NodeInfo;
import io.mss.server.store.Scope;
import io.mss.server.store.rocksdb.RocksDbStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How a node follows bizType changes made on another node: the engine here is "node B"; the
 * other node's changes are made in the shared store directly and announced (or not) on a bus
 * whose messages the test delivers itself, in the order it wants.
 */
class ClusterConfigChangesTest {
    @TempDir
    Path dir;
    private RocksDbStore store;
    private SyncEngine engine;
    private final ManualBus bus = new ManualBus();

    /** A bus whose received config messages the test hands to the engine when it chooses. */
    static final class ManualBus implements ClusterBus {
        final List<Consumer<String>> configListeners = new CopyOnWriteArrayList<>();

        void deliverConfigChange(String bizTypeId) {
            configListeners.forEach(listener -> listener.accept(bizTypeId));
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
            configListeners.add(listener);
        }

        @Override
        public boolean healthy() {
            return true;
        }

        @Override
        public List<NodeInfo> nodes() {
            return List.of();
        }

        @Override
        public void close() {
        }
    }

    @BeforeEach
    void open() {
        store = RocksDbStore.open(dir.resolve("store"));
        engine = new SyncEngine(store, store, store, Clock.systemUTC(), 100, 1 << 20);
        engine.useBus(bus);
    }

    @AfterEach
    void close() {
        engine.close();
        store.close();
    }

    private static BizType order(BizType.Status status) {
        BizType base = BizType.of("ORDER", BizType.Range.APPOINTED, BizType.Target.USER);
        return new BizType(base.id(), base.description(), base.range(), base.target(), base.multiDevice(),
                base.persistent(), base.retentionDays(), base.rePushMode(), base.rePushThreshold(), status,
                base.upstreamWebhook(), base.receiptWebhook());
    }

    @Test
    void aDeletionHeardOnTheBusDeletesNoDataHere() {
        store.put(order(BizType.Status.ONLINE));
        engine.push(new SyncEngine.Push("ORDER", "alice", "pushed", null)).join();
        assertThat(engine.bizType("ORDER")).isPresent();

        // the other node deleted the row; its own data deletion is that node's business
        store.delete("ORDER");
        bus.deliverConfigChange("ORDER");

        assertThat(engine.bizType("ORDER")).as("the cache follows the message").isEmpty();
        assertThat(store.hasData("ORDER")).as("nothing deleted by the node that only heard of it").isTrue();
    }

    @Test
    void theLocalDeletionDeletesTheData() {
        store.put(order(BizType.Status.ONLINE));
        engine.push(new SyncEngine.Push("ORDER", "alice", "pushed", null)).join();
        store.delete("ORDER");
        engine.configChanged("ORDER");
        assertThat(store.hasData("ORDER")).isFalse();
    }

    @Test
    void theCacheFollowsChangesHeardOnTheBus() {
        store.put(order(BizType.Status.ONLINE));
        assertThat(engine.bizType("ORDER").orElseThrow().online()).isTrue();

        store.put(order(BizType.Status.OFFLINE));
        assertThat(engine.bizType("ORDER").orElseThrow().online()).as("cached until told").isTrue();
        bus.deliverConfigChange("ORDER");
        assertThat(engine.bizType("ORDER").orElseThrow().online()).isFalse();
    }

    @Test
    void theReconciliationAppliesChangesWhoseMessageWasLost() {
        store.put(order(BizType.Status.OFFLINE));
        store.put(BizType.of("NEWS", BizType.Range.GLOBAL, BizType.Target.USER));
        assertThat(engine.bizType("ORDER").orElseThrow().online()).isFalse();
        assertThat(engine.bizType("NEWS")).isPresent();
        assertThat(engine.reconcileConfigs()).as("nothing changed").isZero();

        // changed and deleted on another node; the messages never arrive
        store.put(order(BizType.Status.ONLINE));
        store.delete("NEWS");
        assertThat(engine.reconcileConfigs()).isEqualTo(2);
        assertThat(engine.bizType("ORDER").orElseThrow().online()).isTrue();
        assertThat(engine.bizType("NEWS")).isEmpty();
        assertThat(engine.reconcileConfigs()).isZero();
    }
}
