package io.mss.server.sync;

import io.mss.server.biz.BizType;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.rocksdb.RocksDbStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/** The bizType config cache over a real store: what it reads, keeps, refreshes and reconciles. */
class BizTypeConfigsTest {
    private static final BizType ORDER = BizType.of("ORDER", BizType.Range.APPOINTED, BizType.Target.USER);
    private static final BizType OFFLINE = new BizType("ORDER", "", BizType.Range.APPOINTED, BizType.Target.USER,
            true, true, 30, BizType.RePushMode.ALL, 0, BizType.Status.OFFLINE, null, null);

    @TempDir
    Path dir;
    private RocksDbStore store;
    private final AtomicInteger reads = new AtomicInteger();
    private BizTypeConfigs configs;

    @BeforeEach
    void open() {
        store = RocksDbStore.open(dir.resolve("store"));
        configs = new BizTypeConfigs(counting(store));
    }

    @AfterEach
    void close() {
        store.close();
    }

    /** The real store, counting the single reads the cache makes. */
    private BizTypeStore counting(BizTypeStore store) {
        return new BizTypeStore() {
            @Override
            public Optional<BizType> get(String id) {
                reads.incrementAndGet();
                return store.get(id);
            }

            @Override
            public List<BizType> list() {
                return store.list();
            }

            @Override
            public void put(BizType bizType) {
                store.put(bizType);
            }

            @Override
            public boolean create(BizType bizType) {
                return store.create(bizType);
            }

            @Override
            public Optional<Change> update(String id, UnaryOperator<BizType> change) {
                return store.update(id, change);
            }

            @Override
            public boolean delete(String id) {
                return store.delete(id);
            }

            @Override
            public Deletion deleteWithData(String id, boolean force) {
                return store.deleteWithData(id, force);
            }
        };
    }

    @Test
    void aKnownBizTypeIsReadOnceAndAnUnknownOneIsNotKept() {
        store.put(ORDER);
        assertThat(configs.knows("ORDER")).isFalse();
        assertThat(configs.get("ORDER")).contains(ORDER);
        assertThat(configs.get("ORDER")).contains(ORDER);
        assertThat(configs.knows("ORDER")).isTrue();
        assertThat(reads).hasValue(1);

        assertThat(configs.get("NOPE")).isEmpty();
        assertThat(configs.get("NOPE")).isEmpty();
        assertThat(configs.knows("NOPE")).isFalse();
        assertThat(reads).hasValue(3);
    }

    /** A change in the store is not seen until it is refreshed; a refreshed deletion is kept as such. */
    @Test
    void aRefreshReadsTheStoreAgain() {
        store.put(ORDER);
        configs.get("ORDER");
        store.put(OFFLINE);
        assertThat(configs.get("ORDER")).contains(ORDER);
        assertThat(configs.refresh("ORDER")).contains(OFFLINE);
        assertThat(configs.get("ORDER")).contains(OFFLINE);

        store.delete("ORDER");
        assertThat(configs.refresh("ORDER")).isEmpty();
        int before = reads.get();
        assertThat(configs.get("ORDER")).isEmpty();
        assertThat(configs.knows("ORDER")).isFalse();
        assertThat(reads).hasValue(before); // the deletion answers from the cache
    }

    /** The reconciliation applies the changes it missed, leaves bizTypes this node never used alone, and forgets followed deletions. */
    @Test
    void theReconciliationAppliesWhatChangedUnheard() {
        store.put(ORDER);
        store.put(BizType.of("NEWS", BizType.Range.GLOBAL, BizType.Target.DEVICE));
        store.put(BizType.of("CHAT", BizType.Range.APPOINTED, BizType.Target.USER));
        configs.get("ORDER");
        configs.get("CHAT");
        store.put(OFFLINE); // changed without a refresh here
        store.delete("CHAT"); // deleted without a refresh here
        Map<String, Optional<BizType>> applied = new LinkedHashMap<>();

        assertThat(configs.reconcile(applied::put)).isEqualTo(2);
        assertThat(applied).containsExactlyInAnyOrderEntriesOf(Map.of("ORDER", Optional.of(OFFLINE),
                "CHAT", Optional.empty()));
        assertThat(configs.get("ORDER")).contains(OFFLINE);
        assertThat(configs.knows("NEWS")).isFalse(); // never used here: not loaded by the reconciliation

        // nothing changed since: nothing applied, and the followed deletion leaves the cache
        applied.clear();
        assertThat(configs.reconcile(applied::put)).isZero();
        assertThat(applied).isEmpty();
        int before = reads.get();
        assertThat(configs.get("CHAT")).isEmpty();
        assertThat(reads).hasValue(before + 1); // read from the store again: it was forgotten
    }
}
