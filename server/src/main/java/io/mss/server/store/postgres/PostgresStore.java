package io.mss.server.store.postgres;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.mss.server.biz.BizType;
import io.mss.server.records.OperationRecord;
import io.mss.server.records.RecordQuery;
import io.mss.server.records.RecordStore;
import io.mss.server.store.AppendRequest;
import io.mss.server.store.AppendResult;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.Oplog;
import io.mss.server.store.OplogStore;
import io.mss.server.store.Scope;
import io.mss.server.store.StoreException;
import io.mss.server.store.SyncPointStore;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The store of cluster mode: oplogs, sync points, bizTypes and operation records in
 * PostgreSQL, shared by every node. Same semantics as the embedded store: appends go through
 * one group-commit writer thread per node ({@code mss-store-writer}), one transaction per
 * batch; ids are assigned inside it from the scope's locked row, so they grow strictly per
 * scope whichever node appends.
 *
 * <p>Every query of the delivery path (append, read, last id, sync points) names one scope
 * key, which leads every primary key and index: the schema can be distributed by scope key.
 */
public final class PostgresStore implements OplogStore, SyncPointStore, BizTypeStore, RecordStore {

    private static final Logger log = LoggerFactory.getLogger(PostgresStore.class);

    /**
     * How to reach the database.
     *
     * @param schema   where the tables live (created and migrated at open); lets several
     *                 deployments or test runs share one database
     * @param poolSize connections per node: the writer takes one, readers and acks the rest
     * @param maxBatch the most appends committed in one transaction
     */
    public record Options(String jdbcUrl, String user, String password, String schema, int poolSize, int maxBatch,
                          Duration connectTimeout, Clock clock) {

        public Options {
            Objects.requireNonNull(jdbcUrl, "jdbcUrl");
            Objects.requireNonNull(schema, "schema");
            Objects.requireNonNull(clock, "clock");
            if (poolSize < 2) {
                throw new IllegalArgumentException("poolSize must be at least 2 (the writer and a reader): " + poolSize);
            }
            if (maxBatch < 1) {
                throw new IllegalArgumentException("maxBatch must be at least 1: " + maxBatch);
            }
        }

        public static Options of(String jdbcUrl, String user, String password, String schema) {
            return new Options(jdbcUrl, user, password, schema, 10, 1024, Duration.ofSeconds(2), Clock.systemUTC());
        }

        public Options withPoolSize(int poolSize) {
            return new Options(jdbcUrl, user, password, schema, poolSize, maxBatch, connectTimeout, clock);
        }

        public Options withClock(Clock clock) {
            return new Options(jdbcUrl, user, password, schema, poolSize, maxBatch, connectTimeout, clock);
        }
    }

    private static final String OPLOG_COLUMNS =
            "id, payload, third_msg_id, created_at, valid_from, valid_until, filter";

    private final Options options;
    private final HikariDataSource pool;
    private final OplogWriter writer;
    private final ObjectMapper json = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private final Object lifecycle = new Object();
    private boolean acceptingAppends = true;
    private boolean closeRequested;

    private PostgresStore(Options options, HikariDataSource pool) {
        this.options = options;
        this.pool = pool;
        this.writer = new OplogWriter(pool, options.maxBatch(), options.clock(), this::writerExited);
    }

    /** Connects, creates or migrates the schema, and starts the writer. */
    public static PostgresStore open(Options options) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(options.jdbcUrl());
        config.setUsername(options.user());
        config.setPassword(options.password());
        config.setSchema(options.schema());
        config.setMaximumPoolSize(options.poolSize());
        config.setPoolName("mss-postgres");
        // a push must fail fast with STORE_UNAVAILABLE while the database is away, not hang
        config.setConnectionTimeout(Math.max(250, options.connectTimeout().toMillis()));
        config.setInitializationFailTimeout(options.connectTimeout().toMillis());
        config.setValidationTimeout(Math.max(250, Math.min(options.connectTimeout().toMillis(), 1000)));
        config.addDataSourceProperty("connectTimeout", Math.max(1, options.connectTimeout().toSeconds()));
        config.addDataSourceProperty("socketTimeout", 30);
        config.addDataSourceProperty("reWriteBatchedInserts", true);
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw new StoreException("could not connect to PostgreSQL at " + options.jdbcUrl() + ": " + e.getMessage(), e);
        }
        try {
            Flyway.configure()
                    .dataSource(pool)
                    .schemas(options.schema())
                    .createSchemas(true)
                    .locations("classpath:db/postgres")
                    .load()
                    .migrate();
            PostgresStore store = new PostgresStore(options, pool);
            store.writer.start();
            log.info("PostgreSQL store at {} (schema {}), pool of {}", options.jdbcUrl(), options.schema(),
                    options.poolSize());
            return store;
        } catch (RuntimeException e) {
            pool.close();
            throw e instanceof StoreException ? e
                    : new StoreException("could not migrate the schema " + options.schema() + ": " + e.getMessage(), e);
        }
    }

    /** Whether the database answers right now; for the readiness check. */
    public boolean healthy() {
        try (Connection connection = pool.getConnection()) {
            return connection.isValid(1);
        } catch (SQLException | RuntimeException e) {
            return false;
        }
    }

    // ---- OplogStore

    @Override
    public CompletableFuture<AppendResult> append(AppendRequest request) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(request.scope(), "request.scope");
        Objects.requireNonNull(request.linkToken(), "request.linkToken");
        Objects.requireNonNull(request.payload(), "request.payload");
        CompletableFuture<AppendResult> future = new CompletableFuture<>();
        synchronized (lifecycle) {
            if (!acceptingAppends) {
                future.completeExceptionally(new StoreException("store at " + options.jdbcUrl() + " is closed"));
            } else {
                writer.submit(request, future);
            }
        }
        return future;
    }

    @Override
    public void meterInto(io.mss.server.metrics.MssMetrics metrics) {
        writer.metrics = metrics;
    }

    @Override
    public void onCommit(Consumer<List<Oplog>> listener) {
        writer.addListener(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public List<Oplog> read(Scope scope, long afterId, int maxCount) {
        Objects.requireNonNull(scope, "scope");
        if (maxCount < 0) {
            throw new IllegalArgumentException("maxCount must not be negative: " + maxCount);
        }
        if (maxCount == 0 || afterId == Long.MAX_VALUE) {
            return List.of();
        }
        return query("read oplogs of scope " + scope, "SELECT " + OPLOG_COLUMNS
                + " FROM oplog WHERE scope_key = ? AND id > ? ORDER BY id LIMIT ?", ps -> {
            ps.setString(1, scope.key());
            ps.setLong(2, afterId);
            ps.setInt(3, maxCount);
        }, rs -> oplog(scope, rs));
    }

    @Override
    public long lastId(Scope scope) {
        List<Long> last = query("read the last id of scope " + scope,
                "SELECT last_id FROM scope_head WHERE scope_key = ?", ps -> ps.setString(1, scope.key()),
                rs -> rs.getLong(1));
        return last.isEmpty() ? 0 : last.get(0);
    }

    @Override
    public List<Scope> scopes(String bizType) {
        return query("list the scopes of bizType " + bizType,
                "SELECT kind, owner FROM scope_head WHERE biz_type = ? ORDER BY scope_key",
                ps -> ps.setString(1, bizType), rs -> scope(bizType, rs.getString(1), rs.getString(2)));
    }

    @Override
    public boolean hasData(String bizType) {
        // one scope at a time, as everything else: each probe is a single-scope index lookup
        for (Scope scope : scopes(bizType)) {
            if (!read(scope, 0, 1).isEmpty()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void trim(Scope scope, long upToId) {
        if (upToId < 1) {
            return;
        }
        update("trim scope " + scope + " up to " + upToId, "DELETE FROM oplog WHERE scope_key = ? AND id <= ?", ps -> {
            ps.setString(1, scope.key());
            ps.setLong(2, upToId);
        });
    }

    @Override
    public long purgeExpired(Scope scope, long now, long retentionMillis) {
        // the idempotency key is an index of the oplog row: it goes with it
        return update("purge scope " + scope, "DELETE FROM oplog WHERE scope_key = ?"
                + " AND (created_at < ? OR (valid_until <> 0 AND valid_until < ?))", ps -> {
            ps.setString(1, scope.key());
            ps.setLong(2, now - retentionMillis);
            ps.setLong(3, now);
        });
    }

    @Override
    public void deleteData(String bizType) {
        for (Scope scope : scopes(bizType)) {
            update("delete the data of " + scope, "DELETE FROM oplog WHERE scope_key = ?",
                    ps -> ps.setString(1, scope.key()));
        }
    }

    static Oplog findByIdempotencyKey(Connection connection, Scope scope, String linkToken, String thirdMsgId)
            throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT " + OPLOG_COLUMNS
                + " FROM oplog WHERE scope_key = ? AND link_token = ? AND third_msg_id = ?")) {
            ps.setString(1, scope.key());
            ps.setString(2, linkToken);
            ps.setString(3, thirdMsgId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? oplog(scope, rs) : null;
            }
        }
    }

    private static Oplog oplog(Scope scope, ResultSet rs) throws SQLException {
        return new Oplog(scope, rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5),
                rs.getLong(6), FilterCodec.decode(rs.getString(7)));
    }

    private static Scope scope(String bizType, String kind, String owner) {
        return switch (kind) {
            case "U" -> Scope.user(bizType, owner);
            case "D" -> Scope.device(bizType, owner);
            case "G" -> Scope.global(bizType);
            default -> throw new StoreException("unknown scope kind '" + kind + "' of bizType " + bizType);
        };
    }

    // ---- SyncPointStore

    @Override
    public long get(String deviceId, Scope scope) {
        Objects.requireNonNull(deviceId, "deviceId");
        List<Long> point = query("read the sync point of device " + deviceId + " in " + scope,
                "SELECT sync_point FROM sync_point WHERE scope_key = ? AND device_id = ?", ps -> {
                    ps.setString(1, scope.key());
                    ps.setString(2, deviceId);
                }, rs -> rs.getLong(1));
        return point.isEmpty() ? 0 : point.get(0);
    }

    @Override
    public void advance(String deviceId, Scope scope, long id) {
        Objects.requireNonNull(deviceId, "deviceId");
        // the WHERE makes racing acks of one device keep the highest, in one statement
        update("advance the sync point of device " + deviceId + " in " + scope + " to " + id,
                "INSERT INTO sync_point (scope_key, device_id, sync_point, acked_at) VALUES (?, ?, ?, ?)"
                        + " ON CONFLICT (scope_key, device_id) DO UPDATE"
                        + " SET sync_point = EXCLUDED.sync_point, acked_at = EXCLUDED.acked_at"
                        + " WHERE sync_point.sync_point < EXCLUDED.sync_point", ps -> {
                    ps.setString(1, scope.key());
                    ps.setString(2, deviceId);
                    ps.setLong(3, id);
                    ps.setLong(4, options.clock().millis());
                });
    }

    @Override
    public List<DeviceSyncPoint> list(Scope scope) {
        return query("list the sync points of " + scope,
                "SELECT device_id, sync_point, acked_at FROM sync_point WHERE scope_key = ? ORDER BY device_id COLLATE \"C\"",
                ps -> ps.setString(1, scope.key()),
                rs -> new DeviceSyncPoint(rs.getString(1), rs.getLong(2), rs.getLong(3)));
    }

    // ---- BizTypeStore

    @Override
    public Optional<BizType> get(String id) {
        Objects.requireNonNull(id, "id");
        List<BizType> found = query("read bizType " + id, "SELECT id, config FROM biz_type WHERE id = ?",
                ps -> ps.setString(1, id), rs -> decodeBizType(rs.getString(1), rs.getString(2)));
        return found.stream().findFirst();
    }

    @Override
    public List<BizType> list() {
        return query("list bizTypes", "SELECT id, config FROM biz_type ORDER BY id COLLATE \"C\"", ps -> {
        }, rs -> decodeBizType(rs.getString(1), rs.getString(2)));
    }

    @Override
    public void put(BizType bizType) {
        Objects.requireNonNull(bizType, "bizType");
        Objects.requireNonNull(bizType.id(), "bizType.id");
        String config;
        try {
            config = json.writeValueAsString(bizType);
        } catch (JsonProcessingException e) {
            throw new StoreException("could not encode bizType " + bizType.id() + ": " + e.getMessage(), e);
        }
        update("store bizType " + bizType.id(), "INSERT INTO biz_type (id, config) VALUES (?, ?)"
                + " ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config", ps -> {
            ps.setString(1, bizType.id());
            ps.setString(2, config);
        });
    }

    @Override
    public boolean delete(String id) {
        Objects.requireNonNull(id, "id");
        return update("delete bizType " + id, "DELETE FROM biz_type WHERE id = ?", ps -> ps.setString(1, id)) > 0;
    }

    private BizType decodeBizType(String id, String config) {
        try {
            return json.readValue(config, BizType.class);
        } catch (JsonProcessingException e) {
            throw new StoreException("stored bizType " + id + " is unreadable: " + e.getMessage(), e);
        }
    }

    // ---- RecordStore

    @Override
    public List<OperationRecord> append(List<OperationRecord> drafts) {
        List<OperationRecord> stored = new ArrayList<>(drafts.size());
        try (Connection connection = pool.getConnection();
             PreparedStatement ps = connection.prepareStatement("INSERT INTO operation_record (type, at, actor,"
                     + " biz_type, detail) VALUES (?, ?, ?, ?, ?) RETURNING id")) {
            connection.setAutoCommit(false);
            for (OperationRecord draft : drafts) {
                ps.setString(1, draft.type().name());
                ps.setLong(2, draft.at());
                ps.setString(3, draft.actor());
                ps.setString(4, draft.bizType());
                ps.setString(5, draft.detail().toString());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    stored.add(new OperationRecord(rs.getLong(1), draft.type(), draft.at(), draft.actor(),
                            draft.bizType(), draft.detail()));
                }
            }
            connection.commit();
            return stored;
        } catch (SQLException e) {
            throw new StoreException("could not store " + drafts.size() + " operation records: " + e.getMessage(), e);
        }
    }

    @Override
    public List<OperationRecord> query(RecordQuery query) {
        StringBuilder sql = new StringBuilder("SELECT id, type, at, actor, biz_type, detail FROM operation_record"
                + " WHERE at >= ? AND at <= ?");
        if (query.type() != null) {
            sql.append(" AND type = ?");
        }
        if (query.bizType() != null) {
            sql.append(" AND biz_type = ?");
        }
        sql.append(" ORDER BY at DESC, id DESC LIMIT ?");
        return query("query operation records", sql.toString(), ps -> {
            int i = 1;
            ps.setLong(i++, query.from());
            ps.setLong(i++, query.to());
            if (query.type() != null) {
                ps.setString(i++, query.type().name());
            }
            if (query.bizType() != null) {
                ps.setString(i++, query.bizType());
            }
            ps.setInt(i, query.limit());
        }, rs -> {
            ObjectNode detail;
            try {
                detail = (ObjectNode) json.readTree(rs.getString(6));
            } catch (JsonProcessingException e) {
                throw new StoreException("stored operation record " + rs.getLong(1) + " is unreadable", e);
            }
            return new OperationRecord(rs.getLong(1), OperationRecord.Type.valueOf(rs.getString(2)), rs.getLong(3),
                    rs.getString(4), rs.getString(5), detail);
        });
    }

    @Override
    public long purgeOlderThan(long cutoffMillis) {
        return update("purge operation records", "DELETE FROM operation_record WHERE at < ?",
                ps -> ps.setLong(1, cutoffMillis));
    }

    // ---- lifecycle

    /**
     * Stops taking appends, lets the writer commit everything already queued, then closes the
     * pool. Idempotent; from an onCommit listener it returns at once.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (!closeRequested) {
                closeRequested = true;
                acceptingAppends = false;
                writer.stop();
            }
        }
        if (writer.isWriterThread()) {
            return;
        }
        writer.awaitExit();
        pool.close();
    }

    private void writerExited() {
        synchronized (lifecycle) {
            acceptingAppends = false;
        }
        writer.failQueued("store at " + options.jdbcUrl() + " is closed");
        boolean closing;
        synchronized (lifecycle) {
            closing = closeRequested;
        }
        if (closing) {
            pool.close();
        }
    }

    // ---- JDBC helpers

    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private interface RowMapper<T> {
        T map(ResultSet rs) throws SQLException;
    }

    private <T> List<T> query(String what, String sql, Binder binder, RowMapper<T> mapper) {
        try (Connection connection = pool.getConnection();
             PreparedStatement ps = connection.prepareStatement(sql)) {
            binder.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                List<T> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(mapper.map(rs));
                }
                return rows;
            }
        } catch (SQLException | RuntimeException e) {
            throw failure(what, e);
        }
    }

    private int update(String what, String sql, Binder binder) {
        try (Connection connection = pool.getConnection();
             PreparedStatement ps = connection.prepareStatement(sql)) {
            binder.bind(ps);
            return ps.executeUpdate();
        } catch (SQLException | RuntimeException e) {
            throw failure(what, e);
        }
    }

    private StoreException failure(String what, Exception e) {
        if (e instanceof StoreException store) {
            return store;
        }
        return new StoreException("could not " + what + ": " + e.getMessage(), e);
    }

    /** Drops the schema and everything in it; for tests that give each run its own schema. */
    public static void dropSchema(String jdbcUrl, String user, String password, String schema) {
        try (Connection connection = java.sql.DriverManager.getConnection(jdbcUrl, user, password);
             Statement statement = connection.createStatement()) {
            statement.execute("DROP SCHEMA IF EXISTS \"" + schema.replace("\"", "\"\"") + "\" CASCADE");
        } catch (SQLException e) {
            throw new StoreException("could not drop schema " + schema + ": " + e.getMessage(), e);
        }
    }
}
