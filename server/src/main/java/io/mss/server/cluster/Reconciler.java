package io.mss.server.cluster;

import io.mss.server.metrics.MssMetrics;
import io.mss.server.store.Scope;
import io.mss.server.store.ScopeHead;
import io.mss.server.store.StoreException;
import io.mss.server.sync.Dispatcher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.Function;

/**
 * Every few seconds, compares each scope this node's sessions read with its head in the store
 * and wakes the sessions of the scopes that moved: whatever a bus message lost (Redis away,
 * a node's publish failing) reaches the devices within one interval. A session that already
 * sent up to the head does nothing. The bizType configurations are compared the same way
 * (one query for all of them): a lost config change reaches the sessions within one interval too.
 * The head read also names the scope's timeline: sessions on another one start over on it, so a
 * new timeline no push announced (a commit in doubt settled by a writer) reaches them too.
 *
 * <p>What it catches up is counted ({@code mss_reconciler_catchups_total}): a scope whose head,
 * read at one pass, was still not heard of (no local commit, no bus message) at the next one,
 * a whole interval later; a head read while its bus message is on the way is not counted.
 */
public final class Reconciler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    private final Dispatcher dispatcher;
    private final Function<Scope, ScopeHead> heads;
    private final IntSupplier reconcileConfigs;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "mss-cluster-reconcile");
        thread.setDaemon(true);
        return thread;
    });
    private final MssMetrics metrics;
    private volatile boolean storeWasDown;
    /** Heads read at the last pass above what the node had heard of; the timer's thread only. */
    private Map<String, Long> unheard = new HashMap<>();
    /** Heads this reconciliation brought in that were never heard of otherwise; the timer's thread only. */
    private Map<String, Long> caughtUpTo = new HashMap<>();

    /**
     * @param reconcileConfigs applies the bizType configurations that changed in the store
     *                         since this node last applied them; returns how many
     */
    public Reconciler(Dispatcher dispatcher, Function<Scope, ScopeHead> heads, IntSupplier reconcileConfigs,
                      Duration interval, MssMetrics metrics) {
        this.dispatcher = dispatcher;
        this.metrics = metrics;
        this.heads = heads;
        this.reconcileConfigs = reconcileConfigs;
        timer.scheduleWithFixedDelay(this::reconcile, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One pass: the configurations first, then one single-scope lookup per scope some session on this node reads. */
    public void reconcile() {
        try {
            metrics.reconcilerCaughtUp("config", reconcileConfigs.getAsInt());
            Map<String, Long> nowUnheard = new HashMap<>();
            Map<String, Long> nowCaughtUp = new HashMap<>();
            int behind = 0;
            for (String key : dispatcher.subscribedScopeKeys()) {
                Scope scope = ScopeKeys.parse(key);
                long known = Math.max(dispatcher.heard(scope), caughtUpTo.getOrDefault(key, 0L));
                Long unheardBefore = unheard.get(key);
                if (unheardBefore != null && unheardBefore > known) {
                    behind++; // a whole interval later still unheard: the bus lost it
                    known = unheardBefore;
                }
                if (known > dispatcher.heard(scope)) {
                    nowCaughtUp.put(key, known);
                }
                long readStarted = System.nanoTime();
                ScopeHead read = heads.apply(scope);
                long head = read.lastId();
                if (head > known) {
                    nowUnheard.put(key, head);
                }
                // the timeline first: a session that starts over reads from the retained start
                dispatcher.timeline(scope, read.epoch(), readStarted);
                if (head > 0) {
                    dispatcher.advanced(scope, head);
                }
            }
            unheard = nowUnheard;
            caughtUpTo = nowCaughtUp;
            metrics.reconcilerCaughtUp("scope", behind);
            if (storeWasDown) {
                log.info("reconciliation: store reachable again");
                storeWasDown = false;
            }
        } catch (StoreException e) {
            if (!storeWasDown) {
                log.warn("reconciliation skipped, store unavailable: {}", e.getMessage());
            }
            storeWasDown = true;
        } catch (RuntimeException e) {
            log.warn("reconciliation failed", e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
