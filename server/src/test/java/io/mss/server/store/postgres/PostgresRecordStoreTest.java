package io.mss.server.store.postgres;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mss.server.records.OperationRecord;
import io.mss.server.records.RecordQuery;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.mss.server.store.postgres.PostgresStoreTest.PASSWORD;
import static io.mss.server.store.postgres.PostgresStoreTest.URL;
import static io.mss.server.store.postgres.PostgresStoreTest.USER;
import static org.assertj.core.api.Assertions.assertThat;

/** Operation records in PostgreSQL read as they do from the embedded store: newest first, filtered, purged. */
class PostgresRecordStoreTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String schema = "records_" + ProcessHandle.current().pid() + "_" + System.nanoTime();
    private PostgresStore store;

    @BeforeEach
    void open() {
        store = PostgresStore.open(PostgresStore.Options.of(URL, USER, PASSWORD, schema));
    }

    @AfterEach
    void close() {
        store.close();
        PostgresStore.dropSchema(URL, USER, PASSWORD, schema);
    }

    private static OperationRecord draft(OperationRecord.Type type, long at, String bizType) {
        ObjectNode detail = JSON.createObjectNode().put("at", at);
        return OperationRecord.draft(type, at, OperationRecord.API_KEY_ACTOR, bizType, detail);
    }

    @Test
    void queriesReadNewestFirstWithinTheTimeRange() {
        for (int at = 1; at <= 10; at++) {
            store.append(List.of(draft(OperationRecord.Type.PUSH, at, "A"), draft(OperationRecord.Type.PUSH, at, "B")));
        }
        assertThat(store.query(new RecordQuery(null, null, 3, 5, 100))).extracting(OperationRecord::id)
                .containsExactly(10L, 9L, 8L, 7L, 6L, 5L);
        assertThat(store.query(new RecordQuery(null, "A", 3, 5, 100))).extracting(OperationRecord::id)
                .containsExactly(9L, 7L, 5L);
        assertThat(store.query(new RecordQuery(OperationRecord.Type.PUSH, "B", 0, Long.MAX_VALUE, 2)))
                .extracting(OperationRecord::id).containsExactly(20L, 18L);
        assertThat(store.query(new RecordQuery(null, "AB", 0, Long.MAX_VALUE, 100))).isEmpty();
        assertThat(store.query(RecordQuery.newest(1)).get(0).detail().get("at").asLong()).isEqualTo(10);
    }

    @Test
    void purgeDeletesOldRecordsAndIdsNeverRepeat() {
        List<OperationRecord> stored = store.append(List.of(draft(OperationRecord.Type.PUSH, 1_000, "A"),
                draft(OperationRecord.Type.PUSH_GLOBAL, 2_000, "B"), draft(OperationRecord.Type.PUSH, 3_000, "A")));
        assertThat(store.purgeOlderThan(2_500)).isEqualTo(2);
        assertThat(store.query(RecordQuery.newest(10))).extracting(OperationRecord::at).containsExactly(3_000L);
        store.close();
        store = PostgresStore.open(PostgresStore.Options.of(URL, USER, PASSWORD, schema));
        OperationRecord next = store.append(draft(OperationRecord.Type.BIZ_TYPE_CREATED, 5, "C"));
        assertThat(next.id()).isGreaterThan(stored.get(2).id());
    }

    @Test
    void recordsOfRequestsAreWrittenWithoutWaitingAndQueriesOfTheNodeSeeThem() throws Exception {
        try (java.sql.Connection blocker = java.sql.DriverManager.getConnection(URL, USER, PASSWORD);
             java.sql.Statement statement = blocker.createStatement()) {
            // the table is busy (a long purge, a slow disk): writing a record has to wait
            blocker.setAutoCommit(false);
            statement.execute("LOCK TABLE \"" + schema + "\".operation_record IN ACCESS EXCLUSIVE MODE");
            long started = System.nanoTime();
            for (int i = 0; i < 100; i++) {
                store.appendLater(List.of(draft(OperationRecord.Type.PUSH, i, "A")));
            }
            assertThat(java.time.Duration.ofNanos(System.nanoTime() - started))
                    .isLessThan(java.time.Duration.ofMillis(500));
            blocker.rollback();
        }
        assertThat(store.query(RecordQuery.newest(1000))).hasSize(100);
        store.appendLater(List.of(draft(OperationRecord.Type.BIZ_TYPE_CREATED, 500, "B")));
        store.close();
        store = PostgresStore.open(PostgresStore.Options.of(URL, USER, PASSWORD, schema));
        assertThat(store.query(RecordQuery.newest(1000))).as("written before close returned").hasSize(101);
    }
}
