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
import io.mss.server.store.ScopeHead;
import io.mss.server.store.StoreException;
import io.mss.server.store.SyncPointStore;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
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
import java.util.function.UnaryOperator;

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
     * @param dataDir  the node's data dir, where the writer keeps commits in doubt across a restart
     *                 ({@link CommitsInDoubt}); null keeps them in memory only (tools, tests)
     */
    public record Options(String jdbcUrl, String user, String password, String schema, int poolSize, int maxBatch,
                          Duration connectTimeout, Clock clock, Path dataDir) {

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
            return new Options(jdbcUrl, user, password, schema, 10, 1024, Duration.ofSeconds(2), Clock.systemUTC(),
                    null);
        }

        public Options withPoolSize(int poolSize) {
            return new Options(jdbcUrl, user, password, schema, poolSize, maxBatch, connectTimeout, clock, dataDir);
        }

        public Options withDataDir(Path dataDir) {
            return new Options(jdbcUrl, user, password, schema, poolSize, maxBatch, connectTimeout, clock, dataDir);
        }

        public Options withClock(Clock clock) {
            return new Options(jdbcUrl, user, password, schema, poolSize, maxBatch, connectTimeout, clock, dataDir);
        }
    }

    private static final String OPLOG_COLUMNS =
            "id, payload, third_msg_id, created_at, valid_from, valid_until, filter";
    /** {@link #OPLOG_COLUMNS} of the table aliased {@code o}, for joins. */
    static final String OPLOG_COLUMNS_OF_O =
            "o.id, o.payload, o.third_msg_id, o.created_at, o.valid_from, o.valid_until, o.filter";

    /** First key of the advisory locks that serialize the changes of one bizType id, on every node. */
    private static final int BIZ_TYPE_LOCK = 0x4d535301;
    /** First key of the advisory locks under which one node at a time purges a scope. */
    private static final int PURGE_LOCK = 0x4d535302;
    /** The longest a records query waits for this node's queued records to be written. */
    private static final long RECORDS_FLUSH_MILLIS = 2_000;

    private final Options options;
    /** Readers, sync point acks, bizTypes and records. */
    private final HikariDataSource pool;
    /** The writer's own connection: readers can never starve the group commit of one. */
    private final HikariDataSource writerPool;
    /** One connection for the readiness check, so a busy reader pool is not reported as down. */
    private final HikariDataSource checkPool;
    private final OplogWriter writer;
    /** The writer's commits in doubt; closed (its data dir lock released) when the writer exits. */
    private final CommitsInDoubt inDoubt;
    private final RecordWriter records = new RecordWriter(this::append);
    private final ObjectMapper json = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private final Object lifecycle = new Object();
    private boolean acceptingAppends = true;
    private boolean closeRequested;

    private PostgresStore(Options options, HikariDataSource pool, HikariDataSource writerPool,
                          HikariDataSource checkPool, CommitsInDoubt inDoubt) {
        this.options = options;
        this.pool = pool;
        this.writerPool = writerPool;
        this.checkPool = checkPool;
        this.inDoubt = inDoubt;
        this.writer = new OplogWriter(writerPool, options.maxBatch(), options.clock(), inDoubt, this::writerExited);
    }

    /**
     * Connects, creates or migrates the schema, and starts the writer. Opens {@code poolSize}
     * connections for the node (one of them the writer's) and one more for readiness checks.
     */
    public static PostgresStore open(Options options) {
        HikariDataSource pool = null;
        HikariDataSource writerPool = null;
        HikariDataSource checkPool = null;
        try {
            pool = connect(options, "mss-postgres", options.poolSize() - 1, options.connectTimeout());
            writerPool = connect(options, "mss-postgres-writer", 1, options.connectTimeout());
            // readiness must answer quickly: the shortest wait Hikari allows
            checkPool = connect(options, "mss-postgres-check", 1, Duration.ofMillis(250));
        } catch (RuntimeException e) {
            closeAll(pool, writerPool, checkPool);
            throw new StoreException("could not connect to PostgreSQL at " + options.jdbcUrl() + ": " + e.getMessage(), e);
        }
        CommitsInDoubt inDoubt = null;
        try {
            // first: a second node on this data dir is refused before it touches the schema
            inDoubt = new CommitsInDoubt(options.dataDir());
            Flyway.configure()
                    // its own connections (it takes two at once): the pools are sized for running
                    .dataSource(options.jdbcUrl(), options.user(), options.password())
                    .schemas(options.schema())
                    .createSchemas(true)
                    .locations("classpath:db/postgres")
                    .load()
                    .migrate();
            PostgresStore store = new PostgresStore(options, pool, writerPool, checkPool, inDoubt);
            store.writer.start();
            store.records.start();
            log.info("PostgreSQL store at {} (schema {}), pool of {}", options.jdbcUrl(), options.schema(),
                    options.poolSize());
            return store;
        } catch (RuntimeException e) {
            closeAll(pool, writerPool, checkPool);
            if (inDoubt != null) {
                inDoubt.close();
            }
            throw e instanceof StoreException ? e
                    : new StoreException("could not migrate the schema " + options.schema() + ": " + e.getMessage(), e);
        } catch (Error e) {
            closeAll(pool, writerPool, checkPool);
            if (inDoubt != null) {
                inDoubt.close();
            }
            throw e;
        }
    }

    private static HikariDataSource connect(Options options, String name, int size, Duration connectionTimeout) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(options.jdbcUrl());
        config.setUsername(options.user());
        config.setPassword(options.password());
        config.setSchema(options.schema());
        config.setMaximumPoolSize(size);
        config.setPoolName(name);
        // a push must fail fast with STORE_UNAVAILABLE while the database is away, not hang
        config.setConnectionTimeout(Math.max(250, connectionTimeout.toMillis()));
        config.setInitializationFailTimeout(options.connectTimeout().toMillis());
        config.setValidationTimeout(Math.max(250, Math.min(connectionTimeout.toMillis(), 1000)));
        // what the id assignment and the idempotency check rely on: each statement of the
        // writer sees the rows other nodes committed before it (after waiting for the row lock)
        config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
        // a node cut off mid-transaction would keep its scope rows locked until TCP gives up
        // (hours): the server ends such a transaction, and a waiter gives up instead of
        // blocking its node's writer behind it
        config.setConnectionInitSql("SET lock_timeout = '5s'; SET idle_in_transaction_session_timeout = '30s'");
        config.addDataSourceProperty("connectTimeout", Math.max(1, options.connectTimeout().toSeconds()));
        config.addDataSourceProperty("socketTimeout", 30);
        config.addDataSourceProperty("tcpKeepAlive", true);
        config.addDataSourceProperty("reWriteBatchedInserts", true);
        return new HikariDataSource(config);
    }

    private static void closeAll(HikariDataSource... pools) {
        for (HikariDataSource each : pools) {
            if (each != null) {
                each.close();
            }
        }
    }

    /**
     * Whether the database answers; for the readiness check. One quick check on a connection
     * kept for it alone (waiting at most 250 ms for it), never queued behind a busy reader pool.
     */
    public boolean healthy() {
        try (Connection connection = checkPool.getConnection()) {
            return connection.isValid(1);
        } catch (SQLException | RuntimeException e) {
            return false;
        }
    }

    /** The connections of readers, acks, bizTypes and records; for tests. */
    javax.sql.DataSource readerPool() {
        return pool;
    }

    /** A setting of the store's sessions, e.g. {@code lock_timeout}; for tests. */
    String sessionSetting(String name) {
        return query("read setting " + name, "SELECT current_setting(?)", ps -> ps.setString(1, name),
                rs -> rs.getString(1)).get(0);
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
        writer.meterInto(metrics);
        metrics.commitsInDoubtPending(inDoubt::pending);
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
        // the head's epoch in the same snapshot as the oplogs: a deletion in between cannot mix them
        return query("read oplogs of scope " + scope, "SELECT " + OPLOG_COLUMNS + ", h.epoch"
                + " FROM oplog o JOIN scope_head h ON h.scope_key = o.scope_key"
                + " WHERE o.scope_key = ? AND o.id > ? ORDER BY o.id LIMIT ?", ps -> {
            ps.setString(1, scope.key());
            ps.setLong(2, afterId);
            ps.setInt(3, maxCount);
        }, rs -> oplog(scope, rs).withEpoch(rs.getLong(8)));
    }

    @Override
    public ScopeHead head(Scope scope) {
        List<ScopeHead> head = query("read the head of scope " + scope,
                "SELECT epoch, last_id FROM scope_head WHERE scope_key = ?", ps -> ps.setString(1, scope.key()),
                rs -> new ScopeHead(rs.getLong(1), rs.getLong(2)));
        return head.isEmpty() ? ScopeHead.NONE : head.get(0);
    }

    /** A fresh epoch per row, drawn by PostgreSQL: the same range as {@link ScopeHead#newEpoch}. */
    private static final String NEW_EPOCH = "floor(random() * " + (ScopeHead.MAX_EPOCH - 1) + ")::bigint + 1";

    @Override
    public void startNewTimelines() {
        update("start new timelines", "UPDATE scope_head SET epoch = " + NEW_EPOCH, ps -> {
        });
    }

    @Override
    public List<Scope> scopes(String bizType) {
        return query("list the scopes of bizType " + bizType,
                "SELECT kind, owner FROM scope_head WHERE biz_type = ? ORDER BY scope_key",
                ps -> ps.setString(1, bizType), rs -> scope(bizType, rs.getString(1), rs.getString(2)));
    }

    private static final String DATA_OF_BIZ_TYPE =
            "oplog WHERE scope_key IN (SELECT scope_key FROM scope_head WHERE biz_type = ?)";

    @Override
    public boolean hasData(String bizType) {
        // one statement, one snapshot: a scope filled while others are probed cannot be missed
        return query("check for data of bizType " + bizType, "SELECT EXISTS (SELECT 1 FROM " + DATA_OF_BIZ_TYPE + ")",
                ps -> ps.setString(1, bizType), rs -> rs.getBoolean(1)).get(0);
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

    /**
     * Every node runs the retention purge; a scope another node is purging right now is
     * skipped (it is being done), so nodes never queue on each other's deleted rows.
     */
    @Override
    public long purgeExpired(Scope scope, long now, long retentionMillis) {
        return transaction("purge scope " + scope, connection -> {
            try (PreparedStatement lock = connection.prepareStatement("SELECT pg_try_advisory_xact_lock(?, hashtext(?))")) {
                lock.setInt(1, PURGE_LOCK);
                lock.setString(2, options.schema() + '/' + scope.key());
                try (ResultSet rs = lock.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        return 0L;
                    }
                }
            }
            // the idempotency key is an index of the oplog row: it goes with it
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM oplog WHERE scope_key = ?"
                    + " AND (created_at < ? OR (valid_until <> 0 AND valid_until < ?))")) {
                delete.setString(1, scope.key());
                delete.setLong(2, now - retentionMillis);
                delete.setLong(3, now);
                return (long) delete.executeUpdate();
            }
        });
    }

    /**
     * Deletes the bizType's data only while no bizType of that id exists: a node that learns of
     * a delete late must not take the oplogs of the bizType created again since, pushes other
     * nodes already acknowledged. (A delete through {@link #deleteWithData} took the data
     * with it already.)
     */
    @Override
    public void deleteData(String bizType) {
        transaction("delete the data of bizType " + bizType, connection -> {
            lockBizType(connection, bizType);
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM " + DATA_OF_BIZ_TYPE
                    + " AND NOT EXISTS (SELECT 1 FROM biz_type WHERE id = ?)");
                 PreparedStatement epochs = connection.prepareStatement("UPDATE scope_head SET epoch = " + NEW_EPOCH
                         + " WHERE biz_type = ? AND NOT EXISTS (SELECT 1 FROM biz_type WHERE id = ?)")) {
                delete.setString(1, bizType);
                delete.setString(2, bizType);
                int deleted = delete.executeUpdate();
                epochs.setString(1, bizType);
                epochs.setString(2, bizType);
                epochs.executeUpdate();
                return deleted;
            }
        });
    }

    private static Oplog oplog(Scope scope, ResultSet rs) throws SQLException {
        return oplog(scope, rs, 1);
    }

    /** The oplog in {@link #OPLOG_COLUMNS} order from column {@code first} on. */
    static Oplog oplog(Scope scope, ResultSet rs, int first) throws SQLException {
        return new Oplog(scope, rs.getLong(first), rs.getString(first + 1), rs.getString(first + 2),
                rs.getLong(first + 3), rs.getLong(first + 4), rs.getLong(first + 5),
                FilterCodec.decode(rs.getString(first + 6)));
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
    public Position position(String deviceId, Scope scope) {
        Objects.requireNonNull(deviceId, "deviceId");
        List<Position> point = query("read the sync point of device " + deviceId + " in " + scope,
                "SELECT epoch, sync_point FROM sync_point WHERE scope_key = ? AND device_id = ?", ps -> {
                    ps.setString(1, scope.key());
                    ps.setString(2, deviceId);
                }, rs -> new Position(rs.getLong(1), rs.getLong(2)));
        return point.isEmpty() ? Position.NONE : point.get(0);
    }

    /** {@link io.mss.server.store.SyncPoints#advanced} in one statement, so racing acks of one device keep the highest. */
    @Override
    public void advance(String deviceId, Scope scope, long epoch, long id) {
        Objects.requireNonNull(deviceId, "deviceId");
        update("advance the sync point of device " + deviceId + " in " + scope + " to " + id,
                "INSERT INTO sync_point (scope_key, device_id, sync_point, acked_at, epoch) VALUES (?, ?, ?, ?, ?)"
                        + " ON CONFLICT (scope_key, device_id) DO UPDATE SET"
                        + " sync_point = CASE WHEN EXCLUDED.epoch <> 0 AND sync_point.epoch <> 0"
                        + "   AND EXCLUDED.epoch <> sync_point.epoch THEN EXCLUDED.sync_point"
                        + "   ELSE GREATEST(sync_point.sync_point, EXCLUDED.sync_point) END,"
                        + " epoch = CASE WHEN EXCLUDED.epoch <> 0 THEN EXCLUDED.epoch ELSE sync_point.epoch END,"
                        + " acked_at = EXCLUDED.acked_at"
                        + " WHERE sync_point.sync_point < EXCLUDED.sync_point"
                        + "   OR (EXCLUDED.epoch <> 0 AND sync_point.epoch <> EXCLUDED.epoch)", ps -> {
                    ps.setString(1, scope.key());
                    ps.setString(2, deviceId);
                    ps.setLong(3, id);
                    ps.setLong(4, options.clock().millis());
                    ps.setLong(5, epoch);
                });
    }

    @Override
    public void reset(String deviceId, Scope scope, long epoch, long id) {
        Objects.requireNonNull(deviceId, "deviceId");
        update("reset the sync point of device " + deviceId + " in " + scope,
                "INSERT INTO sync_point (scope_key, device_id, sync_point, acked_at, epoch) VALUES (?, ?, ?, ?, ?)"
                        + " ON CONFLICT (scope_key, device_id) DO UPDATE SET sync_point = EXCLUDED.sync_point,"
                        + " acked_at = EXCLUDED.acked_at, epoch = EXCLUDED.epoch", ps -> {
                    ps.setString(1, scope.key());
                    ps.setString(2, deviceId);
                    ps.setLong(3, id);
                    ps.setLong(4, options.clock().millis());
                    ps.setLong(5, epoch);
                });
    }

    @Override
    public List<DeviceSyncPoint> list(Scope scope) {
        return query("list the sync points of " + scope,
                "SELECT device_id, sync_point, acked_at, epoch FROM sync_point WHERE scope_key = ?"
                        + " ORDER BY device_id COLLATE \"C\"",
                ps -> ps.setString(1, scope.key()),
                rs -> new DeviceSyncPoint(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)));
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

    @Override
    public boolean create(BizType bizType) {
        Objects.requireNonNull(bizType, "bizType");
        Objects.requireNonNull(bizType.id(), "bizType.id");
        String config = encode(bizType);
        return transaction("create bizType " + bizType.id(), connection -> {
            lockBizType(connection, bizType.id());
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO biz_type (id, config) VALUES (?, ?) ON CONFLICT (id) DO NOTHING")) {
                insert.setString(1, bizType.id());
                insert.setString(2, config);
                return insert.executeUpdate() == 1;
            }
        });
    }

    @Override
    public Optional<Change> update(String id, UnaryOperator<BizType> change) {
        Objects.requireNonNull(id, "id");
        return transaction("update bizType " + id, connection -> {
            lockBizType(connection, id);
            Optional<BizType> current = currentBizType(connection, id);
            if (current.isEmpty()) {
                return Optional.empty();
            }
            BizType updated = change.apply(current.get());
            if (!id.equals(updated.id())) {
                throw new IllegalArgumentException("an update of bizType " + id + " names " + updated.id());
            }
            try (PreparedStatement write = connection.prepareStatement("UPDATE biz_type SET config = ? WHERE id = ?")) {
                write.setString(1, encode(updated));
                write.setString(2, id);
                write.executeUpdate();
            }
            return Optional.of(new Change(current.get(), updated));
        });
    }

    @Override
    public Deletion deleteWithData(String id, boolean force) {
        Objects.requireNonNull(id, "id");
        return transaction("delete bizType " + id, connection -> {
            lockBizType(connection, id);
            Optional<BizType> current = currentBizType(connection, id);
            if (current.isEmpty()) {
                return new Deletion(null, false, false);
            }
            // the scopes' rows, locked as the writer locks them (in key order): appends already
            // running in them commit before the delete, any later one waits and comes after it
            try (PreparedStatement lock = connection.prepareStatement("SELECT scope_key FROM scope_head"
                    + " WHERE biz_type = ? ORDER BY scope_key COLLATE \"C\" FOR UPDATE")) {
                lock.setString(1, id);
                lock.executeQuery().close();
            }
            boolean hadData;
            try (PreparedStatement exists = connection.prepareStatement(
                    "SELECT EXISTS (SELECT 1 FROM " + DATA_OF_BIZ_TYPE + ")")) {
                exists.setString(1, id);
                try (ResultSet rs = exists.executeQuery()) {
                    rs.next();
                    hadData = rs.getBoolean(1);
                }
            }
            if (hadData && !force) {
                return new Deletion(current.get(), true, false);
            }
            // the idempotency keys are an index of the oplog rows; scope_head stays, so that
            // ids of a bizType created again with this id go on above every id handed out, on a
            // new timeline each (what devices hold of the old data is not on it)
            try (PreparedStatement oplogs = connection.prepareStatement("DELETE FROM " + DATA_OF_BIZ_TYPE);
                 PreparedStatement epochs = connection.prepareStatement("UPDATE scope_head SET epoch = " + NEW_EPOCH
                         + " WHERE biz_type = ?");
                 PreparedStatement row = connection.prepareStatement("DELETE FROM biz_type WHERE id = ?")) {
                oplogs.setString(1, id);
                oplogs.executeUpdate();
                epochs.setString(1, id);
                epochs.executeUpdate();
                row.setString(1, id);
                row.executeUpdate();
            }
            return new Deletion(current.get(), hadData, true);
        });
    }

    /**
     * Serializes the changes of one bizType id across nodes until the transaction ends; also
     * taken when the id does not exist yet, so a create and a delete of it are ordered too.
     */
    private void lockBizType(Connection connection, String id) throws SQLException {
        try (PreparedStatement lock = connection.prepareStatement("SELECT pg_advisory_xact_lock(?, hashtext(?))")) {
            lock.setInt(1, BIZ_TYPE_LOCK);
            lock.setString(2, options.schema() + '/' + id);
            lock.executeQuery().close();
        }
    }

    private Optional<BizType> currentBizType(Connection connection, String id) throws SQLException {
        try (PreparedStatement read = connection.prepareStatement("SELECT config FROM biz_type WHERE id = ?")) {
            read.setString(1, id);
            try (ResultSet rs = read.executeQuery()) {
                return rs.next() ? Optional.of(decodeBizType(id, rs.getString(1))) : Optional.empty();
            }
        }
    }

    private String encode(BizType bizType) {
        try {
            return json.writeValueAsString(bizType);
        } catch (JsonProcessingException e) {
            throw new StoreException("could not encode bizType " + bizType.id() + ": " + e.getMessage(), e);
        }
    }

    private BizType decodeBizType(String id, String config) {
        try {
            return json.readValue(config, BizType.class);
        } catch (JsonProcessingException e) {
            throw new StoreException("stored bizType " + id + " is unreadable: " + e.getMessage(), e);
        }
    }

    // ---- RecordStore

    /**
     * Two statements whatever the number of records: the ids are taken from the sequence first
     * (in order, so the answer keeps the drafts' order), then every row goes in with one insert of
     * arrays. One {@code INSERT} per record made the record writer a statement per push on a busy
     * node, as much work for PostgreSQL as the oplogs themselves.
     */
    @Override
    public List<OperationRecord> append(List<OperationRecord> drafts) {
        if (drafts.isEmpty()) {
            return List.of();
        }
        int n = drafts.size();
        Long[] ids = new Long[n];
        String[] types = new String[n];
        Long[] ats = new Long[n];
        String[] actors = new String[n];
        String[] bizTypes = new String[n];
        String[] details = new String[n];
        try (Connection connection = pool.getConnection()) {
            connection.setAutoCommit(false);
            try (PreparedStatement reserve = connection.prepareStatement(
                    "SELECT nextval(pg_get_serial_sequence('operation_record', 'id')) FROM generate_series(1, ?)")) {
                reserve.setInt(1, n);
                try (ResultSet rs = reserve.executeQuery()) {
                    for (int i = 0; i < n; i++) {
                        if (!rs.next()) {
                            throw new SQLException("the sequence gave " + i + " of " + n + " record ids");
                        }
                        ids[i] = rs.getLong(1);
                    }
                }
            }
            // one statement's values come in the order generate_series made its rows; sorted all the same
            java.util.Arrays.sort(ids);
            for (int i = 0; i < n; i++) {
                OperationRecord draft = drafts.get(i);
                types[i] = draft.type().name();
                ats[i] = draft.at();
                actors[i] = draft.actor();
                bizTypes[i] = draft.bizType();
                details[i] = draft.detail().toString();
            }
            try (PreparedStatement insert = connection.prepareStatement("INSERT INTO operation_record"
                    + " (id, type, at, actor, biz_type, detail) SELECT * FROM unnest("
                    + "?::bigint[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[])")) {
                insert.setArray(1, connection.createArrayOf("bigint", ids));
                insert.setArray(2, connection.createArrayOf("text", types));
                insert.setArray(3, connection.createArrayOf("bigint", ats));
                insert.setArray(4, connection.createArrayOf("text", actors));
                insert.setArray(5, connection.createArrayOf("text", bizTypes));
                insert.setArray(6, connection.createArrayOf("text", details));
                int inserted = insert.executeUpdate();
                if (inserted != n) {
                    throw new SQLException("inserted " + inserted + " of " + n + " operation records");
                }
            }
            connection.commit();
        } catch (SQLException e) {
            throw new StoreException("could not store " + n + " operation records: " + e.getMessage(), e);
        }
        List<OperationRecord> stored = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            OperationRecord draft = drafts.get(i);
            stored.add(new OperationRecord(ids[i], draft.type(), draft.at(), draft.actor(), draft.bizType(), draft.detail()));
        }
        return stored;
    }

    /** Queued for the record writer: the request that made them does not wait for a commit. */
    @Override
    public void appendLater(List<OperationRecord> drafts) {
        records.submit(drafts);
    }

    @Override
    public List<OperationRecord> query(RecordQuery query) {
        // what this node recorded before the query is in its answer
        records.awaitWritten(RECORDS_FLUSH_MILLIS);
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
        records.awaitWritten(RECORDS_FLUSH_MILLIS);
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
        records.stop();
        closeAll(pool, writerPool, checkPool);
    }

    private void writerExited() {
        synchronized (lifecycle) {
            acceptingAppends = false;
        }
        inDoubt.close();
        writer.failQueued(new StoreException("store at " + options.jdbcUrl() + " is closed"));
        boolean closing;
        synchronized (lifecycle) {
            closing = closeRequested;
        }
        if (closing) {
            records.stop();
            closeAll(pool, writerPool, checkPool);
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

    private interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * Runs {@code work} in one transaction. A runtime exception of the work (a refusal) rolls
     * back and is thrown as is. Once the commit returned the work is done, whatever closing
     * the connection afterwards says.
     */
    private <T> T transaction(String what, Work<T> work) {
        Connection connection;
        try {
            connection = pool.getConnection();
        } catch (SQLException e) {
            throw failure(what, e);
        }
        try {
            connection.setAutoCommit(false);
            T result;
            try {
                result = work.run(connection);
                connection.commit();
            } catch (SQLException | RuntimeException e) {
                try {
                    connection.rollback();
                } catch (SQLException rollbackFailed) {
                    e.addSuppressed(rollbackFailed);
                }
                throw e;
            }
            return result;
        } catch (SQLException e) {
            throw failure(what, e);
        } finally {
            try {
                connection.close();
            } catch (SQLException e) {
                log.warn("closing a connection after '{}' failed: {}", what, e.toString());
            }
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
