package io.mss.server.store.postgres;

import io.mss.server.store.AppendRequest;
import io.mss.server.store.AppendResult;
import io.mss.server.store.Oplog;
import io.mss.server.store.Scope;
import io.mss.server.store.StoreException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;

import javax.sql.DataSource;
import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

import static io.mss.server.store.postgres.PostgresStoreTest.PASSWORD;
import static io.mss.server.store.postgres.PostgresStoreTest.URL;
import static io.mss.server.store.postgres.PostgresStoreTest.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The writer's commits whose answer never came, on a real PostgreSQL: the connection is cut right
 * after the COMMIT was sent, once with the transaction committed (the answer lost on the way
 * back) and once with it never stored (as on a primary that died before its standby had it).
 * Nothing but that one cut is simulated: every statement runs on the database.
 */
class CommitsInDoubtTest {
    private static final Scope SCOPE = Scope.user("ORDERS", "alice");
    private final String schema = "in_doubt_" + ProcessHandle.current().pid() + "_" + System.nanoTime();
    private PostgresStore store;
    private CuttingDataSource cutting;
    private OplogWriter writer;
    @TempDir
    Path dataDir;
    private Path inDoubtFile;

    /** What happens to the transaction whose commit is cut. */
    private enum Cut { NONE, AFTER_COMMIT, BEFORE_COMMIT }

    @BeforeEach
    void open() {
        // creates the schema, and reads back what the writer under test stored
        store = PostgresStore.open(PostgresStore.Options.of(URL, USER, PASSWORD, schema));
        cutting = new CuttingDataSource(schema);
        inDoubtFile = dataDir.resolve(CommitsInDoubt.FILE_NAME);
        writer = startWriter();
    }

    /** A writer on {@link #dataDir}; its commits in doubt are closed when it exits, as the store does. */
    private OplogWriter startWriter() {
        CommitsInDoubt inDoubt = new CommitsInDoubt(dataDir);
        OplogWriter started = new OplogWriter(cutting, 64, Clock.systemUTC(), inDoubt, inDoubt::close);
        started.start();
        return started;
    }

    private void stopWriter() {
        writer.stop();
        writer.awaitExit();
        writer = null;
    }

    @AfterEach
    void close() {
        if (writer != null) {
            stopWriter();
        }
        store.close();
        PostgresStore.dropSchema(URL, USER, PASSWORD, schema);
    }

    @Test
    void aCommitNeverStoredStartsANewTimelineBeforeTheNextAppend() throws Exception {
        Oplog first = append("a1");
        append("a2");
        long epoch = first.epoch();
        cutting.next = Cut.BEFORE_COMMIT;
        assertThatThrownBy(() -> append("lost")).hasRootCauseMessage("connection cut with the commit on its way");

        Oplog next = appendAgain("a3");
        assertThat(next.id()).as("the id the lost oplog had goes to the next push").isEqualTo(3);
        assertThat(next.epoch()).as("on a new timeline").isNotEqualTo(epoch).isNotZero();
        assertThat(store.head(SCOPE).epoch()).isEqualTo(next.epoch());
        assertThat(store.read(SCOPE, 0, 10)).extracting(o -> o.id() + ":" + o.payload())
                .containsExactly("1:a1", "2:a2", "3:a3");
    }

    @Test
    void aCommitStoredWhoseAnswerWasLostKeepsTheTimeline() throws Exception {
        long epoch = append("a1").epoch();
        cutting.next = Cut.AFTER_COMMIT;
        assertThatThrownBy(() -> append("a2")).hasRootCauseMessage("connection cut with the commit on its way");

        Oplog next = appendAgain("a3");
        assertThat(next.id()).isEqualTo(3);
        assertThat(next.epoch()).as("every oplog in doubt is there: the same timeline").isEqualTo(epoch);
        assertThat(store.read(SCOPE, 0, 10)).extracting(o -> o.id() + ":" + o.payload())
                .containsExactly("1:a1", "2:a2", "3:a3");
    }

    @Test
    void withNoFurtherPushTheWriterSettlesOnItsOwn() throws Exception {
        long epoch = append("a1").epoch();
        cutting.next = Cut.BEFORE_COMMIT;
        assertThatThrownBy(() -> append("lost")).hasRootCauseMessage("connection cut with the commit on its way");
        // what the reconciliation then reads and tells the sessions
        await().atMost(Duration.ofSeconds(10)).until(() -> store.head(SCOPE).epoch() != epoch);
        assertThat(store.head(SCOPE).lastId()).isEqualTo(1);
    }

    @Test
    void whileTheDatabaseStaysAwayNothingIsWrittenBeforeTheSettlement() throws Exception {
        long epoch = append("a1").epoch();
        cutNeverStoredAndStayAway();
        assertThatThrownBy(() -> append("refused")).isInstanceOf(ExecutionException.class);
        assertThat(store.head(SCOPE)).extracting(h -> h.epoch() + "/" + h.lastId()).isEqualTo(epoch + "/1");
        cutting.refuse = false;
        Oplog next = appendAgain("a2");
        assertThat(next.id()).isEqualTo(2);
        assertThat(next.epoch()).isNotEqualTo(epoch);
    }

    @Test
    void aNodeStoppedBeforeItCouldSettleSettlesWhenItStartsAgain() throws Exception {
        long epoch = append("a1").epoch();
        cutNeverStoredAndStayAway();
        assertThat(inDoubtFile).as("kept on disk before the push is answered").exists();
        stopWriter();
        assertThat(store.head(SCOPE).epoch()).as("the stop could not settle it").isEqualTo(epoch);
        assertThat(inDoubtFile).exists();

        cutting.refuse = false;
        writer = startWriter();
        await().atMost(Duration.ofSeconds(10)).until(() -> store.head(SCOPE).epoch() != epoch);
        assertThat(inDoubtFile).as("settled: nothing left in doubt").doesNotExist();
        Oplog next = append("a2");
        assertThat(next.id()).isEqualTo(2);
        assertThat(next.epoch()).isEqualTo(store.head(SCOPE).epoch());
    }

    @Test
    void aStopSettlesWhatIsInDoubtBeforeTheWriterExits() throws Exception {
        long epoch = append("a1").epoch();
        cutting.next = Cut.BEFORE_COMMIT;
        CompletableFuture<AppendResult> lost = new CompletableFuture<>();
        writer.submit(new AppendRequest(SCOPE, "alice", "lost", null, 0, 0, 0), lost);
        stopWriter(); // queued right behind it: no append and no idle wait comes between
        assertThat(lost).isCompletedExceptionally();
        assertThat(store.head(SCOPE).epoch()).as("settled on the way out").isNotEqualTo(epoch);
        assertThat(inDoubtFile).doesNotExist();
    }

    @Test
    void anUnreadableFileOfCommitsInDoubtStopsTheStart(@TempDir Path otherDir) throws Exception {
        Path file = otherDir.resolve(CommitsInDoubt.FILE_NAME);
        Files.writeString(file, "[{\"scopeKey\":");
        assertThatThrownBy(() -> new CommitsInDoubt(otherDir)).isInstanceOf(StoreException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("never answered");
    }

    @Test
    void aSecondNodeOnTheSameDataDirIsRefused() {
        assertThatThrownBy(() -> new CommitsInDoubt(dataDir)).isInstanceOf(StoreException.class)
                .hasMessageContaining("in use by another MSS node");
    }

    @Test
    void theFileOfANodeThatWillNotComeBackIsSettledByAnother(@TempDir Path otherNode) throws Exception {
        long epoch = append("a1").epoch();
        cutNeverStoredAndStayAway();
        stopWriter();
        // node 3 is gone for good: its file goes into the data dir of a node about to start
        Files.move(inDoubtFile, otherNode.resolve("commits-in-doubt.node3.json"));
        cutting.refuse = false;
        CommitsInDoubt inDoubt = new CommitsInDoubt(otherNode);
        assertThat(otherNode.resolve(CommitsInDoubt.FILE_NAME)).as("taken into the node's own file").exists();
        assertThat(otherNode.resolve("commits-in-doubt.node3.json")).doesNotExist();
        writer = new OplogWriter(cutting, 64, Clock.systemUTC(), inDoubt, inDoubt::close);
        writer.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> store.head(SCOPE).epoch() != epoch);
        assertThat(otherNode.resolve(CommitsInDoubt.FILE_NAME)).doesNotExist();
    }

    @Test
    void aScopeWithEntriesOfAnOldAndOfItsCurrentTimelineIsSettledOnTheCurrentOnes(@TempDir Path otherNode)
            throws Exception {
        long epoch = append("a1").epoch();
        // this node's own file: a batch of a timeline the scope has left (settled long ago)
        Files.writeString(otherNode.resolve(CommitsInDoubt.FILE_NAME), "[{\"scopeKey\":\"" + SCOPE.key()
                + "\",\"epoch\":" + (epoch + 1) + ",\"id\":1,\"payload\":\"old\",\"createdAt\":1}]");
        // another node's file, copied in: a batch of the current timeline that was never stored
        Files.writeString(otherNode.resolve("commits-in-doubt.node3.json"), "[{\"scopeKey\":\"" + SCOPE.key()
                + "\",\"epoch\":" + epoch + ",\"id\":2,\"payload\":\"lost\",\"createdAt\":1}]");
        CommitsInDoubt inDoubt = new CommitsInDoubt(otherNode);
        OplogWriter other = new OplogWriter(cutting, 64, Clock.systemUTC(), inDoubt, inDoubt::close);
        other.start();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> store.head(SCOPE).epoch() != epoch);
            assertThat(otherNode.resolve(CommitsInDoubt.FILE_NAME)).doesNotExist();
        } finally {
            other.stop();
            other.awaitExit();
        }
    }

    @Test
    void aScopeSettledBeforeIsNotStartedOverAgain(@TempDir Path elsewhere) throws Exception {
        long epoch = append("a1").epoch();
        cutNeverStoredAndStayAway();
        Path kept = elsewhere.resolve("kept.json");
        Files.copy(inDoubtFile, kept);
        cutting.refuse = false;
        await().atMost(Duration.ofSeconds(10)).until(() -> store.head(SCOPE).epoch() != epoch);
        long renewed = store.head(SCOPE).epoch();
        assertThat(appendAgain("a2").id()).as("the lost id, on the new timeline").isEqualTo(2);
        stopWriter();
        // as if the file's removal after that settlement had not happened
        Files.move(kept, inDoubtFile);
        writer = startWriter();
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(inDoubtFile));
        assertThat(store.head(SCOPE).epoch()).as("already on a timeline of its own").isEqualTo(renewed);
    }

    /**
     * Appends "lost" with its commit cut before it is stored, and refuses connections from the cut
     * on, as a dead primary would, before any settlement; {@code cutting.refuse = false} brings
     * the database back.
     */
    private void cutNeverStoredAndStayAway() {
        cutting.refuseAfterCut = true;
        cutting.next = Cut.BEFORE_COMMIT;
        assertThatThrownBy(() -> append("lost")).hasRootCauseMessage("connection cut with the commit on its way");
    }

    /**
     * The first append after a cut: one submitted the moment the cut batch failed may be failed with
     * it (the writer fails what is queued at once when the database is unreachable), as any push in
     * that moment would be; the pusher retries, and so does this.
     */
    private Oplog appendAgain(String payload) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return append(payload);
            } catch (ExecutionException e) {
                if (attempt == 3) {
                    throw e;
                }
            }
        }
    }

    private Oplog append(String payload) throws Exception {
        CompletableFuture<AppendResult> future = new CompletableFuture<>();
        writer.submit(new AppendRequest(SCOPE, "alice", payload, null, 0, 0, 0), future);
        return future.get(20, TimeUnit.SECONDS).oplog();
    }

    /**
     * Real connections to the schema, one per call, with the next commit cut when told so: the
     * transaction committed or rolled back on the database, then the connection closed and the
     * driver's error for a broken connection thrown, as when the network or the server goes.
     */
    private static final class CuttingDataSource implements DataSource {
        private final PGSimpleDataSource real = new PGSimpleDataSource();
        volatile Cut next = Cut.NONE;
        /** Connecting fails, as while no primary answers. */
        volatile boolean refuse;
        /** Set {@link #refuse} when the cut happens. */
        volatile boolean refuseAfterCut;

        CuttingDataSource(String schema) {
            real.setUrl(URL);
            real.setUser(USER);
            real.setPassword(PASSWORD);
            real.setCurrentSchema(schema);
        }

        @Override
        public Connection getConnection() throws SQLException {
            if (refuse) {
                throw new SQLException("Connection refused", "08001");
            }
            Connection connection = real.getConnection();
            return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[]{Connection.class},
                    (proxy, method, args) -> {
                        if (method.getName().equals("commit") && next != Cut.NONE) {
                            Cut cut = next;
                            next = Cut.NONE;
                            if (cut == Cut.AFTER_COMMIT) {
                                connection.commit();
                            } else {
                                connection.rollback();
                            }
                            connection.close();
                            refuse = refuseAfterCut;
                            throw new SQLException("connection cut with the commit on its way", "08006");
                        }
                        try {
                            return method.invoke(connection, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }

        @Override
        public Connection getConnection(String username, String password) throws SQLException {
            return getConnection();
        }

        @Override
        public PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(PrintWriter out) {
        }

        @Override
        public void setLoginTimeout(int seconds) {
        }

        @Override
        public int getLoginTimeout() {
            return 0;
        }

        @Override
        public Logger getParentLogger() {
            return Logger.getGlobal();
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            throw new SQLException("not a wrapper");
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }
}
