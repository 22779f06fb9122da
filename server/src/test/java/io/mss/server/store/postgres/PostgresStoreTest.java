package io.mss.server.store.postgres;

import io.mss.server.store.AppendResult;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.OplogStoreContract;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The store contract against the machine's PostgreSQL ({@code MSS_TEST_POSTGRES_URL}, by
 * default 127.0.0.1:5432/test as postgres). Each test gets its own schema, named after its
 * temporary directory, so that reopening finds the same data and tests never see each other.
 * Opening a second store on the same directory is a second node on the same schema.
 */
class PostgresStoreTest extends OplogStoreContract<PostgresStore> {

    static final String URL = System.getenv().getOrDefault("MSS_TEST_POSTGRES_URL",
            "jdbc:postgresql://127.0.0.1:5432/test");
    static final String USER = System.getenv().getOrDefault("MSS_TEST_POSTGRES_USER", "postgres");
    static final String PASSWORD = System.getenv().getOrDefault("MSS_TEST_POSTGRES_PASSWORD", "");

    private static final String RUN = "contract_" + ProcessHandle.current().pid() + "_";
    private static final Map<Path, String> SCHEMAS = new ConcurrentHashMap<>();

    @Override
    protected PostgresStore open(Path dir) {
        String schema = SCHEMAS.computeIfAbsent(dir, d -> RUN + SCHEMAS.size());
        return PostgresStore.open(PostgresStore.Options.of(URL, USER, PASSWORD, schema));
    }

    @AfterAll
    static void dropSchemas() {
        SCHEMAS.values().forEach(schema -> PostgresStore.dropSchema(URL, USER, PASSWORD, schema));
    }

    // ---- two nodes on one schema

    @Test
    void ofTwoNodesCreatingOneIdExactlyOneWins() throws Exception {
        try (PostgresStore other = open(dir)) {
            for (int round = 0; round < 50; round++) {
                String id = "RACE" + round;
                List<Boolean> created = race(
                        node -> node.create(bizType(id, node == store ? 1 : 2)), store, other);
                assertThat(created).as("round %d", round).containsExactlyInAnyOrder(true, false);
                int winner = created.get(0) ? 1 : 2;
                assertThat(other.get(id)).contains(bizType(id, winner));
            }
        }
    }

    @Test
    void updatesOnTwoNodesLoseNone() throws Exception {
        store.create(bizType("CHAT", 1));
        try (PostgresStore other = open(dir)) {
            race(node -> {
                for (int i = 0; i < 50; i++) {
                    node.update("CHAT", current -> bizType("CHAT", current.retentionDays() + 1));
                }
                return null;
            }, store, other);
        }
        assertThat(store.get("CHAT").orElseThrow().retentionDays()).isEqualTo(101);
    }

    @Test
    void aCreateOnAnotherNodeRacingADeleteNeverLosesAPushItAcknowledged() throws Exception {
        try (PostgresStore other = open(dir)) {
            for (int i = 0; i < 30; i++) {
                int round = i;
                store.create(bizType("CHAT", 30));
                append(ALICE, "before " + round, null);
                List<Object> outcome = race(node -> {
                    if (node == store) {
                        return node.deleteWithData("CHAT", true);
                    }
                    // a create that succeeds comes after the delete: what is pushed into it stays
                    return node.create(bizType("CHAT", 30))
                            ? node.append(request(ALICE, "after " + round, null)).join() : null;
                }, store, other);
                assertThat(((BizTypeStore.Deletion) outcome.get(0)).deleted()).isTrue();
                if (outcome.get(1) instanceof AppendResult pushed) {
                    // a late deleteData (a node applying the delete it heard of) must not take it either
                    store.deleteData("CHAT");
                    assertThat(other.read(ALICE, 0, 1000)).as("round %d", round).containsExactly(pushed.oplog());
                }
                store.deleteWithData("CHAT", true);
            }
        }
    }

    @Test
    void ofTwoNodesAppendingOneIdempotencyKeyOneStoresItAndBothAnswerItsId() throws Exception {
        try (PostgresStore other = open(dir)) {
            for (int round = 0; round < 50; round++) {
                String key = "m-" + round;
                List<AppendResult> results = race(node -> node.append(request(ALICE, "from " + node, key))
                        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS), store, other);
                assertThat(results).extracting(AppendResult::duplicate).containsExactlyInAnyOrder(false, true);
                assertThat(results.get(0).oplog()).isEqualTo(results.get(1).oplog());
                assertThat(results.get(0).oplog().id()).isEqualTo(round + 1);
            }
            assertThat(store.lastId(ALICE)).isEqualTo(50);
            assertThat(other.read(ALICE, 0, 100)).hasSize(50);
        }
    }

    /** Regression: a scope row created by a node of the previous version (epoch 0, the DEFAULT) kept epoch 0 forever. */
    @Test
    void aScopeRowWithoutAnEpochGetsOneAtItsNextAppendAndKeepsIt() throws Exception {
        String schema = SCHEMAS.get(dir);
        try (Connection old = DriverManager.getConnection(URL, USER, PASSWORD);
             Statement statement = old.createStatement()) {
            // what a node of the previous version inserts during a rolling upgrade: no epoch column
            statement.execute("INSERT INTO \"" + schema + "\".scope_head (scope_key, biz_type, kind, owner, last_id)"
                    + " VALUES ('" + ALICE.key() + "', 'CHAT', 'U', 'alice', 0)");
        }
        assertThat(store.head(ALICE).epoch()).isZero();

        AppendResult first = append(ALICE, "first", null);
        long epoch = store.head(ALICE).epoch();
        assertThat(epoch).as("an epoch drawn by this version's writer").isNotZero();
        assertThat(first.oplog().epoch()).isEqualTo(epoch);
        assertThat(append(ALICE, "second", null).oplog().epoch()).as("kept once it has one").isEqualTo(epoch);
        assertThat(store.head(ALICE)).isEqualTo(new io.mss.server.store.ScopeHead(epoch, 2));
    }

    @Test
    void twoNodesAppendingBatchesToTheSameScopesNeitherDeadlockNorSkipAnId() throws Exception {
        // each batch locks all its scopes in one statement: sorted by key, so no two writers wait on each other
        List<io.mss.server.store.Scope> scopes = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            scopes.add(io.mss.server.store.Scope.user("CHAT", "u" + i));
        }
        try (PostgresStore other = open(dir)) {
            List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
            for (int round = 0; round < 25; round++) {
                for (int i = 0; i < scopes.size(); i++) {
                    // one node goes up the scopes, the other down, so the batches overlap in opposite orders
                    futures.add(store.append(request(scopes.get(i), "a" + round, "a-" + round)));
                    futures.add(other.append(request(scopes.get(scopes.size() - 1 - i), "b" + round, "b-" + round)));
                }
            }
            for (CompletableFuture<AppendResult> future : futures) {
                assertThat(future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).duplicate()).isFalse();
            }
            for (io.mss.server.store.Scope scope : scopes) {
                assertThat(other.read(scope, 0, 100)).extracting(io.mss.server.store.Oplog::id)
                        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 50).boxed().toList());
            }
        }
    }

    // ---- sessions

    @Test
    void sessionsReadCommittedWithLockAndIdleTransactionTimeouts() {
        assertThat(store.sessionSetting("transaction_isolation")).isEqualTo("read committed");
        assertThat(store.sessionSetting("lock_timeout")).isEqualTo("5s");
        assertThat(store.sessionSetting("idle_in_transaction_session_timeout")).isEqualTo("30s");
    }

    @Test
    void aScopeLockedByACutOffNodeFailsAppendsInsteadOfBlockingTheWriter() throws Exception {
        append(ALICE, "first", null);
        String schema = SCHEMAS.get(dir);
        try (Connection stuck = DriverManager.getConnection(URL, USER, PASSWORD);
             Statement statement = stuck.createStatement()) {
            // a node that locked the scope's row and then went silent, mid-transaction
            stuck.setAutoCommit(false);
            statement.execute("SELECT last_id FROM \"" + schema + "\".scope_head FOR UPDATE");
            long started = System.nanoTime();
            CompletableFuture<AppendResult> blocked = store.append(request(ALICE, "second", null));
            assertFailsWithStoreException(blocked);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(15));
            // another scope is not held up behind it
            assertThat(append(BOB, "other scope", null).oplog().id()).isEqualTo(1);
            stuck.rollback();
        }
        assertThat(append(ALICE, "after", null).oplog().id()).isEqualTo(2);
    }

    @Test
    void whenTheDatabaseIsGoneEveryQueuedAppendFailsAtOnce() throws Exception {
        java.net.URI target = java.net.URI.create(URL.substring("jdbc:".length()));
        try (CuttableProxy proxy = new CuttableProxy(target.getHost(), target.getPort() < 0 ? 5432 : target.getPort())) {
            String url = "jdbc:postgresql://127.0.0.1:" + proxy.port() + target.getPath();
            // small batches: failing them one connect timeout each would take minutes
            PostgresStore.Options options = new PostgresStore.Options(url, USER, PASSWORD, SCHEMAS.get(dir), 2, 10,
                    Duration.ofSeconds(2), java.time.Clock.systemUTC(), null);
            try (PostgresStore cutOff = PostgresStore.open(options)) {
                assertThat(cutOff.append(request(ALICE, "before", null)).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)
                        .oplog().id()).isEqualTo(1);
                proxy.cut();
                long started = System.nanoTime();
                List<CompletableFuture<AppendResult>> queued = new ArrayList<>();
                for (int i = 0; i < 500; i++) {
                    queued.add(cutOff.append(request(ALICE, "lost " + i, null)));
                }
                for (CompletableFuture<AppendResult> append : queued) {
                    assertFailsWithStoreException(append);
                }
                assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
                assertThat(cutOff.healthy()).isFalse();
            }
        }
        assertThat(store.read(ALICE, 0, 10)).hasSize(1);
    }

    @Test
    void readinessIsUpWhileTheReaderPoolIsExhausted() throws Exception {
        // every reader connection held, as by slow reads
        List<Connection> held = new ArrayList<>();
        try {
            for (int i = 0; i < 9; i++) {
                held.add(store.readerPool().getConnection());
            }
            long started = System.nanoTime();
            assertThat(store.healthy()).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(1500));
            // and the writer still commits
            assertThat(append(ALICE, "while readers are busy", null).oplog().id()).isEqualTo(1);
        } finally {
            for (Connection connection : held) {
                connection.close();
            }
        }
    }

    /** Runs {@code work} on every node at once, each from its own thread. */
    private interface NodeWork<T> {
        T run(PostgresStore node) throws Exception;
    }

    private <T> List<T> race(NodeWork<T> work, PostgresStore... nodes) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(nodes.length);
        CyclicBarrier start = new CyclicBarrier(nodes.length);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (PostgresStore node : nodes) {
                futures.add(threads.submit(() -> {
                    start.await();
                    return work.run(node);
                }));
            }
            List<T> results = new ArrayList<>();
            for (Future<T> future : futures) {
                try {
                    results.add(future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS));
                } catch (ExecutionException e) {
                    throw new AssertionError("a node failed: " + e.getCause(), e.getCause());
                }
            }
            return results;
        } finally {
            threads.shutdownNow();
        }
    }
}
