package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.mss.client.internal.AckTracker;
import io.mss.client.internal.ScopeKey;
import io.mss.client.internal.SyncPointStore;

import java.io.File;
import java.io.IOException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AckTrackerTest {
    private static final ScopeKey NOTES_ALICE = ScopeKey.user("notes", "alice");

    @TempDir
    File dir;

    private SyncPointStore store;
    private AckTracker tracker;

    @BeforeEach
    void setUp() throws IOException {
        store = SyncPointStore.open(dir);
        tracker = new AckTracker(store);
    }

    private void dispatch(ScopeKey key, long... ids) {
        for (long id : ids) {
            assertThat(tracker.markDispatched(key, id)).as("dispatch %d", id).isTrue();
        }
    }

    @Test
    void inOrderAcksAdvanceOneByOne() {
        dispatch(NOTES_ALICE, 1, 2, 3);

        assertThat(tracker.ack(NOTES_ALICE, 1)).isTrue();
        assertThat(tracker.syncPoint(NOTES_ALICE)).isEqualTo(1);
        assertThat(tracker.ack(NOTES_ALICE, 2)).isTrue();
        assertThat(tracker.syncPoint(NOTES_ALICE)).isEqualTo(2);
        assertThat(store.get(NOTES_ALICE)).isEqualTo(2L);
        assertThat(tracker.unackedCount(NOTES_ALICE)).isEqualTo(1);
    }

    @Test
    void outOfOrderAcksOnlyAdvanceOverTheContiguousPrefix() {
        dispatch(NOTES_ALICE, 1, 2, 3, 4, 5);

        assertThat(tracker.ack(NOTES_ALICE, 2)).isFalse();
        assertThat(tracker.syncPoint(NOTES_ALICE)).isZero();
        assertThat(store.get(NOTES_ALICE)).isNull();

        assertThat(tracker.ack(NOTES_ALICE, 1)).isTrue();
        assertThat(tracker.syncPoint(NOTES_ALICE)).isEqualTo(2);

        assertThat(tracker.ack(NOTES_ALICE, 5)).isFalse();
        assertThat(tracker.ack(NOTES_ALICE, 4)).isFalse();
        assertThat(tracker.syncPoint(NOTES_ALICE)).isEqualTo(2);

        assertThat(tracker.ack(NOTES_ALICE, 3)).isTrue();
        assertThat(tracker.syncPoint(NOTES_ALICE)).isEqualTo(5);
        assertThat(store.get(NOTES_ALICE)).isEqualTo(5L);
        assertThat(tracker.unackedCount(NOTES_ALICE)).isZero();
    }

    @Test
    void gapsInIdsDoNotBlockThePrefix() {
        // the server may have trimmed ids; only delivered ids count
        dispatch(NOTES_ALICE, 10, 12, 15);

        assertThat(tracker.ack(NOTES_ALICE, 12)).isFalse();
        assertThat(tracker.ack(NOTES_ALICE, 10)).isTrue();
        assertThat(tracker.syncPoint(NOTES_ALICE)).isEqualTo(12);
        assertThat(tracker.ack(NOTES_ALICE, 15)).isTrue();
        assertThat(tracker.syncPoint(NOTES_ALICE)).isEqualTo(15);
    }

    @Test
    void neverDispatchesAnIdTwiceOrOneBelowTheHighest() {
        dispatch(NOTES_ALICE, 1, 2, 3);

        assertThat(tracker.markDispatched(NOTES_ALICE, 3)).isFalse();
        assertThat(tracker.markDispatched(NOTES_ALICE, 2)).isFalse();
        assertThat(tracker.markDispatched(NOTES_ALICE, 4)).isTrue();
        assertThat(tracker.highestDispatched(NOTES_ALICE)).isEqualTo(4);
    }

    @Test
    void unackedMessagesAreNotRedeliveredInTheSameProcess() {
        dispatch(NOTES_ALICE, 1, 2);
        tracker.ack(NOTES_ALICE, 1);

        // a reconnect resends 2 (unacked): the callback already has it
        assertThat(tracker.markDispatched(NOTES_ALICE, 2)).isFalse();
        assertThat(tracker.ack(NOTES_ALICE, 2)).isTrue();
        assertThat(tracker.syncPoint(NOTES_ALICE)).isEqualTo(2);
    }

    @Test
    void startsDeduplicatingAtThePersistedSyncPoint() throws IOException {
        store.put(NOTES_ALICE, 7);
        store.save();
        AckTracker restarted = new AckTracker(SyncPointStore.open(dir));

        assertThat(restarted.syncPoint(NOTES_ALICE)).isEqualTo(7);
        assertThat(restarted.markDispatched(NOTES_ALICE, 6)).isFalse();
        assertThat(restarted.markDispatched(NOTES_ALICE, 7)).isFalse();
        assertThat(restarted.markDispatched(NOTES_ALICE, 8)).isTrue();
    }

    @Test
    void ignoresAcksOfUndeliveredOrAlreadyAckedIds() {
        dispatch(NOTES_ALICE, 1, 2);

        assertThat(tracker.ack(NOTES_ALICE, 3)).isFalse();
        assertThat(tracker.ack(ScopeKey.user("notes", "bob"), 1)).isFalse();
        assertThat(tracker.ack(NOTES_ALICE, 1)).isTrue();
        assertThat(tracker.ack(NOTES_ALICE, 1)).isFalse();
        assertThat(tracker.syncPoint(NOTES_ALICE)).isEqualTo(1);
    }

    @Test
    void scopesAreIndependent() {
        ScopeKey bob = ScopeKey.user("notes", "bob");
        ScopeKey device = ScopeKey.device("notes");
        ScopeKey global = ScopeKey.global("notes");
        dispatch(NOTES_ALICE, 1, 2);
        dispatch(bob, 1);
        dispatch(device, 1);
        dispatch(global, 100);

        assertThat(tracker.ack(bob, 1)).isTrue();
        assertThat(tracker.ack(global, 100)).isTrue();

        assertThat(tracker.syncPoint(NOTES_ALICE)).isZero();
        assertThat(tracker.syncPoint(bob)).isEqualTo(1);
        assertThat(tracker.syncPoint(device)).isZero();
        assertThat(tracker.syncPoint(global)).isEqualTo(100);
    }
}
