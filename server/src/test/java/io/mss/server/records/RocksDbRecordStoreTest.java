package io.mss.server.records;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RocksDbRecordStoreTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static OperationRecord draft(OperationRecord.Type type, long at, String bizType) {
        ObjectNode detail = JSON.createObjectNode().put("at", at);
        return OperationRecord.draft(type, at, OperationRecord.API_KEY_ACTOR, bizType, detail);
    }

    @Test
    void purgeDeletesOldRecordsFromEveryIndexAndIdsNeverRepeat() {
        long lastId;
        try (RocksDbRecordStore store = RocksDbRecordStore.open(dir)) {
            List<OperationRecord> drafts = new ArrayList<>();
            for (int i = 0; i < 25_000; i++) { // more than one purge chunk
                drafts.add(draft(i % 2 == 0 ? OperationRecord.Type.PUSH : OperationRecord.Type.PUSH_GLOBAL, 1_000 + i,
                        i % 3 == 0 ? "A" : "B"));
            }
            List<OperationRecord> stored = store.append(drafts);
            assertThat(stored).extracting(OperationRecord::id).startsWith(1L, 2L, 3L);
            lastId = stored.get(stored.size() - 1).id();

            assertThat(store.purgeOlderThan(1_000 + 20_000)).isEqualTo(20_000);

            assertThat(store.query(RecordQuery.newest(1000))).hasSize(1000)
                    .allSatisfy(r -> assertThat(r.at()).isGreaterThanOrEqualTo(21_000));
            for (OperationRecord.Type type : List.of(OperationRecord.Type.PUSH, OperationRecord.Type.PUSH_GLOBAL)) {
                for (String bizType : new String[]{"A", "B", null}) {
                    List<OperationRecord> old = store.query(new RecordQuery(type, bizType, 0, 20_999, 1000));
                    assertThat(old).as(type + " " + bizType).isEmpty();
                    List<OperationRecord> young = store.query(new RecordQuery(type, bizType, 0, Long.MAX_VALUE, 1000));
                    assertThat(young).isNotEmpty().allSatisfy(r -> {
                        assertThat(r.type()).isEqualTo(type);
                        if (bizType != null) {
                            assertThat(r.bizType()).isEqualTo(bizType);
                        }
                    });
                }
            }
            assertThat(store.purgeOlderThan(Long.MAX_VALUE)).isEqualTo(5_000);
            assertThat(store.query(RecordQuery.newest(10))).isEmpty();
        }
        try (RocksDbRecordStore store = RocksDbRecordStore.open(dir)) {
            OperationRecord next = store.append(draft(OperationRecord.Type.BIZ_TYPE_CREATED, 5, "C"));
            assertThat(next.id()).isEqualTo(lastId + 1);
            assertThat(store.query(RecordQuery.newest(10))).extracting(OperationRecord::id, OperationRecord::bizType)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(next.id(), "C"));
        }
    }

    @Test
    void queriesReadNewestFirstWithinTheTimeRange() {
        try (RocksDbRecordStore store = RocksDbRecordStore.open(dir)) {
            for (int at = 1; at <= 10; at++) {
                store.append(draft(OperationRecord.Type.PUSH, at, "A"));
                store.append(draft(OperationRecord.Type.PUSH, at, "B"));
            }
            assertThat(store.query(new RecordQuery(null, null, 3, 5, 100))).extracting(OperationRecord::id)
                    .containsExactly(10L, 9L, 8L, 7L, 6L, 5L);
            assertThat(store.query(new RecordQuery(null, "A", 3, 5, 100))).extracting(OperationRecord::id)
                    .containsExactly(9L, 7L, 5L);
            assertThat(store.query(new RecordQuery(OperationRecord.Type.PUSH, "B", 0, Long.MAX_VALUE, 2)))
                    .extracting(OperationRecord::id).containsExactly(20L, 18L);
            assertThat(store.query(new RecordQuery(null, "AB", 0, Long.MAX_VALUE, 100))).isEmpty();
        }
    }
}
