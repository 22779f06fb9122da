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
import java.util.TreeMap;

/**
 * The single writer of oplogs on this node: one transaction per batch, so a batch costs one
 * commit (one WAL flush) however many appends it holds. Other nodes append to the same
 * scopes: ids come from the scope's row, locked for the transaction, never from a cache.
 */
final class OplogWriter extends SingleWriter {

    private static final Logger log = LoggerFactory.getLogger(OplogWriter.class);

    volatile io.mss.server.metrics.MssMetrics metrics;

    private final DataSource pool;
    private final Clock clock;

    OplogWriter(DataSource pool, int maxBatch, Clock clock, Runnable onExit) {
        super(maxBatch, onExit);
        this.pool = pool;
        this.clock = clock;
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
        } catch (Throwable t) {
            StoreException failure = new StoreException(
                    "could not store a batch of " + batch.size() + " oplog appends: " + t.getMessage(), t);
            log.error("Oplog batch write failed; failing {} appends: {}", batch.size(), t.toString());
            for (Pending pending : batch) {
                pending.future().completeExceptionally(failure);
            }
            if (unreachable(t)) {
                failQueuedInOutage(failure);
            }
            return;
        }
        for (int i = 0; i < results.length; i++) {
            batch.get(i).future().complete(results[i]);
        }
        committed(committed);
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
        try {
            connection.setAutoCommit(false);
            try {
                Map<String, long[]> heads = lockScopes(connection, batch);
                // the first of two equal idempotency keys in one batch is not in the table yet
                Map<String, Oplog> storedInBatch = new HashMap<>();
                try (PreparedStatement insert = connection.prepareStatement(
                        "INSERT INTO oplog (scope_key, id, link_token, payload, third_msg_id, created_at, valid_from,"
                                + " valid_until, filter) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    for (int i = 0; i < batch.size(); i++) {
                        AppendRequest request = batch.get(i).request();
                        Scope scope = request.scope();
                        String idempotencyKey = null;
                        if (request.thirdMsgId() != null) {
                            idempotencyKey = scope.key() + '\n' + request.linkToken() + '\n' + request.thirdMsgId();
                            Oplog original = storedInBatch.get(idempotencyKey);
                            if (original == null) {
                                original = PostgresStore.findByIdempotencyKey(connection, scope, request.linkToken(),
                                        request.thirdMsgId());
                            }
                            if (original != null) {
                                results[i] = new AppendResult(original, true);
                                continue;
                            }
                        }
                        long[] head = heads.get(scope.key());
                        long id = ++head[0];
                        long createdAt = request.createdAt() > 0 ? request.createdAt() : now;
                        Oplog oplog = new Oplog(scope, id, request.payload(), request.thirdMsgId(), createdAt,
                                request.validFrom(), request.validUntil(), request.filter(), head[2]);
                        insert.setString(1, scope.key());
                        insert.setLong(2, id);
                        insert.setString(3, request.linkToken());
                        insert.setString(4, oplog.payload());
                        insert.setString(5, oplog.thirdMsgId());
                        insert.setLong(6, createdAt);
                        insert.setLong(7, oplog.validFrom());
                        insert.setLong(8, oplog.validUntil());
                        insert.setString(9, FilterCodec.encode(oplog.filter()));
                        insert.addBatch();
                        if (idempotencyKey != null) {
                            storedInBatch.put(idempotencyKey, oplog);
                        }
                        results[i] = new AppendResult(oplog, false);
                        committed.add(oplog);
                    }
                    if (!committed.isEmpty()) {
                        insert.executeBatch();
                    }
                }
                try (PreparedStatement advance = connection.prepareStatement(
                        "UPDATE scope_head SET last_id = ? WHERE scope_key = ?")) {
                    for (Map.Entry<String, long[]> head : heads.entrySet()) {
                        if (head.getValue()[0] != head.getValue()[1]) {
                            advance.setLong(1, head.getValue()[0]);
                            advance.setString(2, head.getKey());
                            advance.addBatch();
                        }
                    }
                    advance.executeBatch();
                }
                long started = System.nanoTime();
                connection.commit();
                return System.nanoTime() - started;
            } catch (SQLException | RuntimeException e) {
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
     * Creates the rows of new scopes and locks every scope of the batch, in scope key order so
     * that two nodes appending to the same scopes cannot deadlock. One statement per scope (each
     * touches one scope), sent together in one round trip.
     *
     * A new scope's row starts its timeline with a fresh epoch; an existing row keeps its own.
     *
     * @return scope key -> {next id to hand out minus one, last id as locked, epoch}
     */
    private static Map<String, long[]> lockScopes(Connection connection, List<Pending> batch) throws SQLException {
        Map<String, Scope> scopes = new TreeMap<>();
        for (Pending pending : batch) {
            scopes.putIfAbsent(pending.request().scope().key(), pending.request().scope());
        }
        Map<String, long[]> heads = new HashMap<>();
        try (PreparedStatement lock = connection.prepareStatement(
                "INSERT INTO scope_head (scope_key, biz_type, kind, owner, last_id, epoch) VALUES (?, ?, ?, ?, 0, ?)"
                        + " ON CONFLICT (scope_key) DO UPDATE SET last_id = scope_head.last_id",
                new String[]{"scope_key", "last_id", "epoch"})) {
            for (Map.Entry<String, Scope> entry : scopes.entrySet()) {
                Scope scope = entry.getValue();
                lock.setString(1, entry.getKey());
                lock.setString(2, scope.bizType());
                lock.setString(3, String.valueOf(scope.kind().name().charAt(0)));
                lock.setString(4, scope.owner());
                lock.setLong(5, ScopeHead.newEpoch());
                lock.addBatch();
            }
            lock.executeBatch();
            try (ResultSet rs = lock.getGeneratedKeys()) {
                while (rs.next()) {
                    long last = rs.getLong(2);
                    heads.put(rs.getString(1), new long[]{last, last, rs.getLong(3)});
                }
            }
        }
        if (heads.size() != scopes.size()) {
            throw new SQLException("locked " + heads.size() + " of the batch's " + scopes.size() + " scopes");
        }
        return heads;
    }
}
