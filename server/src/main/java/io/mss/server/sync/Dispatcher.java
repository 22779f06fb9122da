package io.mss.server.sync;

import io.mss.protocol.v1.BizBatch;
import io.mss.server.store.Oplog;
import io.mss.server.store.OplogStore;
import io.mss.server.store.StoreException;
import io.mss.server.store.Scope;
import io.netty.buffer.ByteBuf;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tells the sessions interested in a scope that it advanced. In-process: one node holds all
 * sessions. Called by the store's commit thread after each durable batch; every session is
 * then handed its part on its own event loop.
 *
 * <p>The frame for a committed run of oplogs is encoded once and the same buffer is written
 * to every session that is up to date with the scope (a global push to 10,000 devices is
 * serialized once); a session that lags reads from the store instead.
 *
 * <p>Another node's commits (cluster mode) take the same path: the new oplogs of a scope are
 * read from the store once, here, off the event loops, and fanned out like local ones.
 */
public final class Dispatcher {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Dispatcher.class);
    /** Above this many new oplogs, sessions read their own part instead of one shared read. */
    static final int MAX_SHARED_READ = 1024;

    private final Map<String, Set<Session>> subscribers = new ConcurrentHashMap<>();
    /** Per subscribed scope, the highest id handed to its sessions (local commits or shared reads). */
    private final Map<String, Long> published = new ConcurrentHashMap<>();
    /**
     * Per subscribed scope, the highest id this node heard of without the reconciliation: a local
     * commit or another node's announcement on the bus.
     */
    private final Map<String, Long> heard = new ConcurrentHashMap<>();
    private final OplogStore oplogs;
    /** Whether other nodes commit too (a cluster bus): only then is {@link #published} kept. */
    private volatile boolean remoteCommits;
    private final int maxOplogsPerFrame;
    private final int frameBudgetBytes;

    public Dispatcher(OplogStore oplogs, int maxOplogsPerFrame, int frameBudgetBytes) {
        this.oplogs = oplogs;
        this.maxOplogsPerFrame = maxOplogsPerFrame;
        this.frameBudgetBytes = frameBudgetBytes;
    }

    /** Other nodes commit into the same store: keep what is needed to share their reads. */
    void expectRemoteCommits() {
        remoteCommits = true;
    }

    void subscribe(Scope scope, Session session) {
        subscribers.computeIfAbsent(scope.key(), k -> ConcurrentHashMap.newKeySet()).add(session);
    }

    void unsubscribe(Scope scope, Session session) {
        subscribers.computeIfPresent(scope.key(), (k, set) -> {
            set.remove(session);
            if (set.isEmpty()) {
                published.remove(k);
                heard.remove(k);
                return null;
            }
            return set;
        });
    }

    /** The sessions subscribed to the scope right now. */
    Set<Session> subscribers(Scope scope) {
        Set<Session> set = subscribers.get(scope.key());
        return set == null ? Set.of() : set;
    }

    /** How many sessions are subscribed to the scope right now. */
    public int subscriberCount(Scope scope) {
        Set<Session> set = subscribers.get(scope.key());
        return set == null ? 0 : set.size();
    }

    /** The keys of every scope some session subscribed to, for the cluster's reconciliation. */
    public Set<String> subscribedScopeKeys() {
        return Set.copyOf(subscribers.keySet());
    }

    /** Another node announced a commit in the scope on the bus, up to {@code head}. Called off the event loops. */
    public void announced(Scope scope, long head) {
        if (subscribers.containsKey(scope.key())) {
            heard.merge(scope.key(), head, Math::max);
        }
        advanced(scope, head);
    }

    /** The highest id of the scope this node heard of from a local commit or the bus; 0: none. */
    public long heard(Scope scope) {
        return heard.getOrDefault(scope.key(), 0L);
    }

    /**
     * Another node committed in the scope, up to {@code head} (or the reconciliation found it
     * there). Called off the event loops. The oplogs above what was last handed out here are
     * read once and go to the sessions as a local commit would; then every session is woken
     * with the head, which costs nothing to one that already sent it and makes one that
     * lags (or whose read failed) read its own part. Repeated or stale heads cost no read.
     */
    public void advanced(Scope scope, long head) {
        Set<Session> sessions = subscribers.get(scope.key());
        if (sessions == null || sessions.isEmpty()) {
            return;
        }
        Long from = published.get(scope.key());
        if (from == null || head - from > MAX_SHARED_READ) {
            // nothing to start a shared read from (or too much): each session reads its part
            published.merge(scope.key(), head, Math::max);
        } else if (head > from) {
            try {
                List<Oplog> run = new ArrayList<>(oplogs.read(scope, from, (int) (head - from)));
                // counted, the read passes trimmed ids and may return rows above the announced head
                run.removeIf(oplog -> oplog.id() > head);
                if (!run.isEmpty()) {
                    publish(scope, run);
                }
            } catch (StoreException e) {
                // the wake-ups below make each session try on its own later
                log.debug("shared read of {} failed: {}", scope, e.getMessage());
            }
        }
        for (Session session : sessions) {
            session.advanced(scope, head);
        }
    }

    /**
     * The reconciliation read the scope's head on timeline {@code epoch}, in a read that started at
     * {@code readStarted} ({@link System#nanoTime}): sessions on another timeline start over on it
     * ({@link Session#timeline}). Called off the event loops.
     */
    public void timeline(Scope scope, long epoch, long readStarted) {
        Set<Session> sessions = subscribers.get(scope.key());
        if (sessions == null || epoch == 0) {
            return;
        }
        for (Session session : sessions) {
            session.timeline(scope, epoch, readStarted);
        }
    }

    /** The store's commit listener: oplogs in commit order, ascending per scope. */
    public void committed(List<Oplog> oplogs) {
        Map<Scope, List<Oplog>> byScope = new LinkedHashMap<>();
        for (Oplog oplog : oplogs) {
            byScope.computeIfAbsent(oplog.scope(), s -> new ArrayList<>()).add(oplog);
        }
        byScope.forEach((scope, run) -> {
            if (subscribers.containsKey(scope.key())) {
                heard.merge(scope.key(), run.get(run.size() - 1).id(), Math::max);
            }
            publish(scope, run);
        });
    }

    private void publish(Scope scope, List<Oplog> run) {
        Set<Session> sessions = subscribers.get(scope.key());
        if (sessions == null || sessions.isEmpty()) {
            return;
        }
        if (remoteCommits) {
            published.merge(scope.key(), run.get(run.size() - 1).id(), Math::max);
        }
        for (List<Oplog> chunk : chunks(run)) {
            ByteBuf frame = encode(scope, chunk);
            try {
                for (Session session : sessions) {
                    session.live(scope, chunk, frame.retainedDuplicate());
                }
            } finally {
                frame.release();
            }
        }
    }

    /** Splits a run so that every frame stays under the oplog count and byte budget. */
    private List<List<Oplog>> chunks(List<Oplog> run) {
        List<List<Oplog>> chunks = new ArrayList<>();
        List<Oplog> current = new ArrayList<>();
        long bytes = 0;
        for (Oplog oplog : run) {
            long size = WireFrames.estimatedBytes(oplog);
            if (!current.isEmpty() && (current.size() >= maxOplogsPerFrame || bytes + size > frameBudgetBytes)) {
                chunks.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(oplog);
            bytes += size;
        }
        if (!current.isEmpty()) {
            chunks.add(current);
        }
        return chunks;
    }

    private static ByteBuf encode(Scope scope, List<Oplog> chunk) {
        // one commit's run is on one timeline: an epoch changes only between the writer's batches
        BizBatch.Builder batch = WireFrames.batchFor(scope, chunk.get(0).epoch());
        for (Oplog oplog : chunk) {
            batch.addOplogs(WireFrames.toWire(oplog));
        }
        return WireFrames.encoded(batch);
    }
}
