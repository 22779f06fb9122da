package io.mss.server.sync;

import io.mss.server.biz.BizType;
import io.mss.server.metrics.MssMetrics;
import io.mss.server.store.Oplog;
import io.mss.server.store.Scope;
import io.mss.server.store.SyncPointStore;
import io.mss.server.store.rocksdb.RocksDbStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The poison cutoff counts deliveries per device and scope, over a real store's sync points. */
class PoisonCutoffTest {
    private static final Scope ALICE = Scope.user("ORDER", "alice");
    private static final BizType ORDER = BizType.of("ORDER", BizType.Range.APPOINTED, BizType.Target.USER);

    @TempDir
    Path dir;
    private RocksDbStore store;
    private MssMetrics metrics;
    private PoisonCutoff poison;

    @BeforeEach
    void open() {
        store = RocksDbStore.open(dir.resolve("store"));
        metrics = new MssMetrics();
        poison = new PoisonCutoff(store, metrics);
    }

    @AfterEach
    void close() {
        metrics.close();
        store.close();
    }

    private static Cursor cursor(String owner) {
        return new Cursor(ORDER, ALICE, owner, new SyncPointStore.Position(0, 0));
    }

    private static Oplog oplog(long id) {
        return new Oplog(ALICE, id, "o" + id, null, 0, 0, 0);
    }

    /** Sent the allowed number of times it is still sent; once more, it is skipped and its sync point stored. */
    @Test
    void anOplogSentTooOftenIsCutOffAndItsSyncPointStored() {
        Cursor cursor = cursor("phone");
        for (int attempt = 1; attempt <= SyncEngine.POISON_CUTOFF_ATTEMPTS; attempt++) {
            assertThat(poison.poisoned("phone", cursor, oplog(1))).as("attempt %d", attempt).isFalse();
        }
        assertThat(store.get("phone", ALICE)).isZero();

        assertThat(poison.poisoned("phone", cursor, oplog(1))).isTrue();
        assertThat(poison.cutoffs()).isEqualTo(1);
        assertThat(metrics.snapshot().get("poisonCutoffs")).isEqualTo(1.0);
        assertThat(store.get("phone", ALICE)).isEqualTo(1);
        // counted from the start again: the next sending is the first one
        assertThat(poison.poisoned("phone", cursor, oplog(1))).isFalse();
    }

    /** An ack of the counted oplog (or past it) clears the count; a new first oplog starts over too. */
    @Test
    void anAckOrAnotherFirstOplogStartsTheCountOver() {
        Cursor cursor = cursor("phone");
        for (int attempt = 1; attempt <= SyncEngine.POISON_CUTOFF_ATTEMPTS; attempt++) {
            poison.poisoned("phone", cursor, oplog(1));
        }
        poison.acked("phone", ALICE, 0); // below it: still counted
        poison.acked("phone", ALICE, 1);
        assertThat(poison.poisoned("phone", cursor, oplog(1))).isFalse();

        for (int attempt = 2; attempt <= SyncEngine.POISON_CUTOFF_ATTEMPTS; attempt++) {
            poison.poisoned("phone", cursor, oplog(1));
        }
        // the first unacked oplog is another one now: its count starts at one
        assertThat(poison.poisoned("phone", cursor, oplog(2))).isFalse();
        assertThat(poison.cutoffs()).isZero();
    }

    /** Counts are per device: another device of the user is sent the oplog as often as it needs. */
    @Test
    void eachDeviceIsCountedOnItsOwn() {
        for (int attempt = 1; attempt <= SyncEngine.POISON_CUTOFF_ATTEMPTS; attempt++) {
            poison.poisoned("phone", cursor("phone"), oplog(1));
        }
        assertThat(poison.poisoned("tablet", cursor("tablet"), oplog(1))).isFalse();
        assertThat(poison.poisoned("phone", cursor("phone"), oplog(1))).isTrue();
        assertThat(store.get("phone", ALICE)).isEqualTo(1);
        assertThat(store.get("tablet", ALICE)).isZero();
    }
}
