package io.mss.server.sync;

import io.mss.server.biz.BizType;
import io.mss.server.store.BizTypeStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * The bizType configurations this node applied (empty: none with that id), so that
 * handshakes, acks and commits do not ask the store each time. Refreshed by every config
 * change, local or from the bus, and checked against the store by the reconciliation.
 *
 * <p>Threading: read from any thread (event loops, API workers, the store's writer through the
 * commit listeners, the maintenance thread); {@link #refresh} runs on whichever thread heard of
 * the change (an API worker, the bus) and {@link #reconcile} on the cluster's reconciliation. A
 * load and a refresh of the same id are serialized by the map's per-key lock.
 */
final class BizTypeConfigs {
    /** Logs under the engine's name, as it did before it had its own class. */
    private static final Logger log = LoggerFactory.getLogger(SyncEngine.class);

    private final BizTypeStore bizTypes;
    private final Map<String, Optional<BizType>> configs = new ConcurrentHashMap<>();

    BizTypeConfigs(BizTypeStore bizTypes) {
        this.bizTypes = bizTypes;
    }

    /** Whether {@link #get} answers for this id from the cache, without reading the store. */
    boolean knows(String id) {
        Optional<BizType> known = configs.get(id);
        return known != null && known.isPresent();
    }

    /** The configuration of a bizType, if it exists, as this node last applied it. */
    Optional<BizType> get(String id) {
        Optional<BizType> known = configs.get(id);
        if (known != null) {
            return known;
        }
        // loaded under the key's lock, so a concurrent refresh cannot be overwritten by an older read;
        // an unknown id is not kept: a client naming made-up bizTypes must not grow the cache
        Optional<BizType> loaded = configs.computeIfAbsent(id, key -> bizTypes.get(key).map(Optional::of).orElse(null));
        return loaded == null ? Optional.empty() : loaded;
    }

    /** Reads the configuration from the store into the cache; serialized per id with loads. */
    Optional<BizType> refresh(String bizTypeId) {
        return configs.compute(bizTypeId, (id, old) -> bizTypes.get(id));
    }

    /**
     * Compares every bizType configuration in the store with the one this node applied, and
     * refreshes and hands to {@code apply} those that changed or disappeared. A bizType never
     * used on this node is left out: nothing here follows it yet.
     *
     * @return how many configurations were applied
     */
    int reconcile(BiConsumer<String, Optional<BizType>> apply) {
        Map<String, BizType> stored = new HashMap<>();
        for (BizType bizType : bizTypes.list()) {
            stored.put(bizType.id(), bizType);
        }
        int applied = 0;
        Set<String> ids = new LinkedHashSet<>(configs.keySet());
        ids.addAll(stored.keySet());
        for (String id : ids) {
            Optional<BizType> known = configs.get(id);
            Optional<BizType> now = Optional.ofNullable(stored.get(id));
            if (known == null) {
                // never used on this node: nothing here follows it yet
                continue;
            }
            if (known.isEmpty() && now.isEmpty()) {
                configs.remove(id, known); // a deletion every session here has followed
                continue;
            }
            if (!known.equals(now)) {
                // read again under the key's lock: a change applied since the list was read must not be undone
                now = refresh(id);
                apply.accept(id, now);
                applied++;
                log.info("reconciliation: bizType {} {} (its change was not heard on the bus)", id,
                        now.isPresent() ? "changed" : "deleted");
            }
        }
        return applied;
    }
}
