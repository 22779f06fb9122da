package io.mss.server.store.postgres;

import io.mss.server.store.AppendRequest;
import io.mss.server.store.AppendResult;
import io.mss.server.store.Oplog;
import io.mss.server.store.Scope;
import io.mss.server.store.ScopeHead;
import io.mss.server.store.SingleWriter;
import io.mss.server.store.StoreException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The single writer of oplogs on this node: one transaction per batch, so a batch costs one
 * commit (one WAL flush) however many appends it holds, and a constant number of statements
 * (lock the scopes, look up idempotency keys, insert the oplogs, advance the heads), each
 * taking the whole batch as arrays. Other nodes append to the same
 * scopes: ids come from the scope's row, locked for the transaction, never from a cache.
 */
final class OplogWriter extends SingleWriter {

    private static final Logger log = LoggerFactory.getLogger(OplogWriter.class);
    private static final long SETTLE_WARNING_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

    private volatile io.mss.server.metrics.MssMetrics metrics;
    /** Settlements since start, by outcome, also those made before the metrics were attached. */
    private final java.util.concurrent.atomic.AtomicLong settledStored = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong settledNewTimelines = new java.util.concurrent.atomic.AtomicLong();

    private final DataSource pool;
    private final Clock clock;
    /** The host:port the last batch committed on; another one next time is a failover. Writer thread only. */
    private String committedOn;
    /** The host:port of the connection the batch being written uses. Writer thread only. */
    private String writingOn;
    /** A batch failed with the database unreachable; the next commit is a reconnect. Writer thread only. */
    private boolean wasUnreachable;
    /** Batches whose commit was never answered, settled before anything else is written. Writer thread only. */
    private final CommitsInDoubt inDoubt;
    /** When a failed settlement was last logged: a retry every half second must not flood the log. Writer thread only. */
    private long lastSettleWarning = System.nanoTime() - SETTLE_WARNING_NANOS;

    OplogWriter(DataSource pool, int maxBatch, Clock clock, CommitsInDoubt inDoubt, Runnable onExit) {
        super(maxBatch, onExit);
        this.pool = pool;
        this.clock = clock;
        this.inDoubt = inDoubt;
    }

    @Override
    protected void commit(List<Pending> batch) {
        AppendResult[] results = new AppendResult[batch.size()];
        List<Oplog> committed = new ArrayList<>();
        try {
            long commitNanos = write(batch, results, committed);
            io.mss.server.metrics.MssMetrics meters = metrics;
            if (meters != null && !committed.isEmpty()) {
                // the transaction's commit is where PostgreSQL flushes its WAL: the durable write
                meters.committed(committed.size(), commitNanos);
            }
            followHost(meters);
        } catch (Throwable t) {
            StoreException failure = new StoreException(
                    "could not store a batch of " + batch.size() + " oplog appends: " + t.getMessage(), t);
            log.error("Oplog batch write failed; failing {} appends: {}", batch.size(), t.toString());
            for (Pending pending : batch) {
                pending.future().completeExceptionally(failure);
            }
            if (unreachable(t)) {
                wasUnreachable = true;
                failQueuedInOutage(failure);
            }
            return;
        }
        for (int i = 0; i < results.length; i++) {
            batch.get(i).future().complete(results[i]);
        }
        committed(committed);
    }

    /** Counts a commit after an outage, and one on another host than the last (Patroni promoted a standby). */
    private void followHost(io.mss.server.metrics.MssMetrics meters) {
        if (wasUnreachable) {
            wasUnreachable = false;
            log.info("PostgreSQL reachable again: the writer committed on {}", writingOn);
            if (meters != null) {
                meters.storeReconnected();
            }
        }
        if (writingOn != null && committedOn != null && !writingOn.equals(committedOn)) {
            log.warn("PostgreSQL failover: the writer commits on {} now, before on {}", writingOn, committedOn);
            if (meters != null) {
                meters.storeFailedOver();
            }
        }
        if (writingOn != null) {
            committedOn = writingOn;
        }
    }

    /** The server the connection is on, host:port; null when the driver does not say. */
    private static String hostOf(Connection connection) {
        try {
            // the multi-host URL picks the primary among several hosts: which one is only known here
            return connection.unwrap(org.postgresql.core.BaseConnection.class).getQueryExecutor().getHostSpec().toString();
        } catch (SQLException | RuntimeException e) {
            return null;
        }
    }

    /**
     * No connection, or the connection broke: everything queued would wait its turn for the
     * same answer, one batch per connection timeout. They all get it now.
     */
    private static boolean unreachable(Throwable t) {
        if (t instanceof SQLTransientConnectionException) {
            return true;
        }
        return t instanceof SQLException e && e.getSQLState() != null && e.getSQLState().startsWith("08");
    }

    private void failQueuedInOutage(StoreException failure) {
        int failed = failQueued(failure);
        if (failed > 0) {
            log.error("PostgreSQL unreachable; failed {} more queued appends at once", failed);
        }
    }

    /** @return how long the commit itself took, in nanoseconds */
    private long write(List<Pending> batch, AppendResult[] results, List<Oplog> committed) throws SQLException {
        long now = clock.millis();
        // the writer's own pool of one: its connection, re-established by the pool after a failure
        Connection connection = pool.getConnection();
        writingOn = hostOf(connection);
        boolean commitSent = false;
        try {
            if (!inDoubt.isEmpty()) {
                settleInDoubt(connection);
            }
            connection.setAutoCommit(false);
            try {
                Map<String, long[]> heads = lockScopes(connection, batch);
                // after the locks: what other nodes committed to these scopes before is visible now
                Map<String, Oplog> stored = storedOriginals(connection, batch);
                OplogRows rows = new OplogRows(batch.size());
                for (int i = 0; i < batch.size(); i++) {
                    AppendRequest request = batch.get(i).request();
                    Scope scope = request.scope();
                    String idempotencyKey = idempotencyKey(request);
                    Oplog original = idempotencyKey == null ? null : stored.get(idempotencyKey);
                    if (original != null) {
                        results[i] = new AppendResult(original, true);
                        continue;
                    }
                    long[] head = heads.get(scope.key());
                    long id = ++head[0];
                    long createdAt = request.createdAt() > 0 ? request.createdAt() : now;
                    Oplog oplog = new Oplog(scope, id, request.payload(), request.thirdMsgId(), createdAt,
                            request.validFrom(), request.validUntil(), request.filter(), head[2]);
                    rows.add(request.linkToken(), oplog);
                    if (idempotencyKey != null) {
                        // the second of two equal keys in one batch is a duplicate of the first
                        stored.put(idempotencyKey, oplog);
                    }
                    results[i] = new AppendResult(oplog, false);
                    committed.add(oplog);
                }
                if (!committed.isEmpty()) {
                    rows.insert(connection);
                    advanceHeads(connection, heads);
                }
                long started = System.nanoTime();
                commitSent = true;
                connection.commit();
                return System.nanoTime() - started;
            } catch (SQLException | RuntimeException e) {
                if (commitSent) {
                    // the connection broke with the commit on its way: stored or not, nobody can say yet
                    inDoubt.add(committed);
                }
                committed.clear();
                try {
                    connection.rollback();
                } catch (SQLException rollbackFailed) {
                    e.addSuppressed(rollbackFailed);
                }
                throw e;
            }
        } finally {
            // after a commit that returned, the batch is stored: a failing close changes nothing
            try {
                connection.close();
            } catch (SQLException e) {
                log.warn("closing the writer's connection failed: {}", e.toString());
            }
        }
    }

    /**
     * Settles the batches in doubt (see {@link CommitsInDoubt}) on {@code connection} before the next
     * batch; throws, failing that batch as well, while the database cannot be reached.
     */
    private void settleInDoubt(Connection connection) throws SQLException {
        CommitsInDoubt.Settled settled = inDoubt.settle(connection);
        if (settled.newTimelines().isEmpty()) {
            log.warn("A commit of {} oplogs was never answered; on {} it is stored (or was settled before): nothing"
                            + " to do",
                    settled.oplogs(), writingOn);
        } else {
            log.warn("A commit of {} oplogs was never answered and is not stored as written on {}: {} scope(s) start"
                            + " a new timeline, their devices are told FULL_UPDATE ({})", settled.oplogs(), writingOn,
                    settled.newTimelines().size(), settled.newTimelines());
        }
        (settled.newTimelines().isEmpty() ? settledStored : settledNewTimelines).incrementAndGet();
    }

    /** Attaches the metrics. Any thread. */
    void meterInto(io.mss.server.metrics.MssMetrics meters) {
        metrics = meters;
        meters.commitsInDoubtSettled(settledStored, settledNewTimelines);
    }

    /** Nothing queued while a batch is in doubt: settle it anyway, so sessions learn of it without another push. */
    @Override
    protected boolean hasIdleWork() {
        return !inDoubt.isEmpty();
    }

    @Override
    protected void idle() {
        try (Connection connection = pool.getConnection()) {
            writingOn = hostOf(connection);
            settleInDoubt(connection);
        } catch (SQLException | RuntimeException e) {
            long now = System.nanoTime();
            if (now - lastSettleWarning >= SETTLE_WARNING_NANOS) {
                lastSettleWarning = now;
                log.warn("settling the commits in doubt of {} failed, retrying every {} ms: {}", inDoubt.scopeKeys(),
                        IDLE_RETRY_MILLIS, e.toString());
            }
        }
    }

    private static String idempotencyKey(AppendRequest request) {
        return request.thirdMsgId() == null ? null
                : request.scope().key() + '\n' + request.linkToken() + '\n' + request.thirdMsgId();
    }

    /**
     * Creates the rows of new scopes and locks every scope of the batch in one statement. The rows
     * are taken in scope key order (byte order, as every other statement that locks several scope
     * rows): two nodes appending to the same scopes cannot deadlock. {@code INSERT ... SELECT}
     * inserts, or on conflict locks, the rows in the order its {@code ORDER BY} gives them.
     *
     * A new scope's row starts its timeline with a fresh epoch; an existing row keeps its own, except
     * epoch 0 (a row created by a node of the previous version during a rolling upgrade).
     *
     * @return scope key -> {next id to hand out minus one, last id as locked, epoch}
     */
    private static Map<String, long[]> lockScopes(Connection connection, List<Pending> batch) throws SQLException {
        Map<String, Scope> scopes = new HashMap<>();
        for (Pending pending : batch) {
            scopes.putIfAbsent(pending.request().scope().key(), pending.request().scope());
        }
        int n = scopes.size();
        String[] keys = new String[n];
        String[] bizTypes = new String[n];
        String[] kinds = new String[n];
        String[] owners = new String[n];
        Long[] epochs = new Long[n];
        int i = 0;
        for (Map.Entry<String, Scope> entry : scopes.entrySet()) {
            Scope scope = entry.getValue();
            keys[i] = entry.getKey();
            bizTypes[i] = scope.bizType();
            kinds[i] = String.valueOf(scope.kind().name().charAt(0));
            owners[i] = scope.owner();
            epochs[i] = ScopeHead.newEpoch();
            i++;
        }
        Map<String, long[]> heads = new HashMap<>();
        try (PreparedStatement lock = connection.prepareStatement(
                "INSERT INTO scope_head (scope_key, biz_type, kind, owner, last_id, epoch)"
                        + " SELECT k, b, c, o, 0, e FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[])"
                        + " AS s(k, b, c, o, e) ORDER BY k COLLATE \"C\""
                        // a row a node of the previous version created has the column's DEFAULT 0, no
                        // epoch: it gets one from the first append of this version, and keeps it
                        + " ON CONFLICT (scope_key) DO UPDATE SET last_id = scope_head.last_id,"
                        + " epoch = CASE WHEN scope_head.epoch = 0 THEN EXCLUDED.epoch ELSE scope_head.epoch END"
                        + " RETURNING scope_key, last_id, epoch")) {
            lock.setArray(1, connection.createArrayOf("text", keys));
            lock.setArray(2, connection.createArrayOf("text", bizTypes));
            lock.setArray(3, connection.createArrayOf("text", kinds));
            lock.setArray(4, connection.createArrayOf("text", owners));
            lock.setArray(5, connection.createArrayOf("bigint", epochs));
            try (ResultSet rs = lock.executeQuery()) {
                while (rs.next()) {
                    long last = rs.getLong(2);
                    heads.put(rs.getString(1), new long[]{last, last, rs.getLong(3)});
                }
            }
        }
        if (heads.size() != n) {
            throw new SQLException("locked " + heads.size() + " of the batch's " + n + " scopes");
        }
        return heads;
    }

    /**
     * The oplogs already stored under the idempotency keys of the batch, in one statement.
     *
     * @return idempotency key -> the original oplog (with its scope's epoch)
     */
    private static Map<String, Oplog> storedOriginals(Connection connection, List<Pending> batch) throws SQLException {
        Map<String, AppendRequest> keyed = new HashMap<>();
        for (Pending pending : batch) {
            String key = idempotencyKey(pending.request());
            if (key != null) {
                keyed.putIfAbsent(key, pending.request());
            }
        }
        Map<String, Oplog> stored = new HashMap<>();
        if (keyed.isEmpty()) {
            return stored;
        }
        String[] scopeKeys = new String[keyed.size()];
        String[] linkTokens = new String[keyed.size()];
        String[] thirdMsgIds = new String[keyed.size()];
        Map<String, Scope> scopes = new HashMap<>();
        int i = 0;
        for (AppendRequest request : keyed.values()) {
            scopeKeys[i] = request.scope().key();
            linkTokens[i] = request.linkToken();
            thirdMsgIds[i] = request.thirdMsgId();
            scopes.putIfAbsent(scopeKeys[i], request.scope());
            i++;
        }
        try (PreparedStatement find = connection.prepareStatement("SELECT o.scope_key, o.link_token, "
                + PostgresStore.OPLOG_COLUMNS_OF_O + ", h.epoch"
                + " FROM unnest(?::text[], ?::text[], ?::text[]) AS k(s, l, t)"
                + " JOIN oplog o ON o.scope_key = k.s AND o.link_token = k.l AND o.third_msg_id = k.t"
                // the idempotency index is partial: say what it covers so that it is used
                + " AND o.third_msg_id IS NOT NULL"
                + " JOIN scope_head h ON h.scope_key = o.scope_key")) {
            find.setArray(1, connection.createArrayOf("text", scopeKeys));
            find.setArray(2, connection.createArrayOf("text", linkTokens));
            find.setArray(3, connection.createArrayOf("text", thirdMsgIds));
            try (ResultSet rs = find.executeQuery()) {
                while (rs.next()) {
                    String scopeKey = rs.getString(1);
                    String linkToken = rs.getString(2);
                    Oplog original = PostgresStore.oplog(scopes.get(scopeKey), rs, 3).withEpoch(rs.getLong(10));
                    stored.put(scopeKey + '\n' + linkToken + '\n' + original.thirdMsgId(), original);
                }
            }
        }
        return stored;
    }

    /** Every scope that got oplogs moves its head to the last id it handed out, in one statement. */
    private static void advanceHeads(Connection connection, Map<String, long[]> heads) throws SQLException {
        List<String> keys = new ArrayList<>();
        List<Long> lastIds = new ArrayList<>();
        for (Map.Entry<String, long[]> head : heads.entrySet()) {
            if (head.getValue()[0] != head.getValue()[1]) {
                keys.add(head.getKey());
                lastIds.add(head.getValue()[0]);
            }
        }
        try (PreparedStatement advance = connection.prepareStatement("UPDATE scope_head h SET last_id = v.last_id"
                + " FROM unnest(?::text[], ?::bigint[]) AS v(scope_key, last_id) WHERE h.scope_key = v.scope_key")) {
            advance.setArray(1, connection.createArrayOf("text", keys.toArray(String[]::new)));
            advance.setArray(2, connection.createArrayOf("bigint", lastIds.toArray(Long[]::new)));
            advance.executeUpdate();
        }
    }

    /** The columns of the oplogs of one batch, inserted together by one statement. */
    private static final class OplogRows {
        private final List<String> scopeKeys;
        private final List<Long> ids;
        private final List<String> linkTokens;
        private final List<String> payloads;
        private final List<String> thirdMsgIds;
        private final List<Long> createdAts;
        private final List<Long> validFroms;
        private final List<Long> validUntils;
        private final List<String> filters;

        OplogRows(int capacity) {
            scopeKeys = new ArrayList<>(capacity);
            ids = new ArrayList<>(capacity);
            linkTokens = new ArrayList<>(capacity);
            payloads = new ArrayList<>(capacity);
            thirdMsgIds = new ArrayList<>(capacity);
            createdAts = new ArrayList<>(capacity);
            validFroms = new ArrayList<>(capacity);
            validUntils = new ArrayList<>(capacity);
            filters = new ArrayList<>(capacity);
        }

        void add(String linkToken, Oplog oplog) {
            scopeKeys.add(oplog.scope().key());
            ids.add(oplog.id());
            linkTokens.add(linkToken);
            payloads.add(oplog.payload());
            thirdMsgIds.add(oplog.thirdMsgId());
            createdAts.add(oplog.createdAt());
            validFroms.add(oplog.validFrom());
            validUntils.add(oplog.validUntil());
            filters.add(FilterCodec.encode(oplog.filter()));
        }

        void insert(Connection connection) throws SQLException {
            try (PreparedStatement insert = connection.prepareStatement("INSERT INTO oplog (scope_key, id, link_token,"
                    + " payload, third_msg_id, created_at, valid_from, valid_until, filter) SELECT * FROM unnest("
                    + "?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[],"
                    + " ?::text[])")) {
                insert.setArray(1, connection.createArrayOf("text", scopeKeys.toArray(String[]::new)));
                insert.setArray(2, connection.createArrayOf("bigint", ids.toArray(Long[]::new)));
                insert.setArray(3, connection.createArrayOf("text", linkTokens.toArray(String[]::new)));
                insert.setArray(4, connection.createArrayOf("text", payloads.toArray(String[]::new)));
                insert.setArray(5, connection.createArrayOf("text", thirdMsgIds.toArray(String[]::new)));
                insert.setArray(6, connection.createArrayOf("bigint", createdAts.toArray(Long[]::new)));
                insert.setArray(7, connection.createArrayOf("bigint", validFroms.toArray(Long[]::new)));
                insert.setArray(8, connection.createArrayOf("bigint", validUntils.toArray(Long[]::new)));
                insert.setArray(9, connection.createArrayOf("text", filters.toArray(String[]::new)));
                int inserted = insert.executeUpdate();
                if (inserted != ids.size()) {
                    throw new SQLException("inserted " + inserted + " of the batch's " + ids.size() + " oplogs");
                }
            }
        }
    }
}
