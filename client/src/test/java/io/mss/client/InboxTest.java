package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import io.mss.client.internal.Inbox;
import io.mss.client.internal.ScopeKey;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InboxTest {
    private static final ScopeKey NOTES_ALICE = ScopeKey.user("notes", "alice");
    private static final ScopeKey NOTES_BOB = ScopeKey.user("notes", "bob");
    private static final ScopeKey ALERTS = ScopeKey.device("alerts");
    private static final ScopeKey NEWS = ScopeKey.global("news");

    @TempDir
    File dir;

    private File log() {
        return new File(dir, Inbox.FILE_NAME);
    }

    private File journal() {
        return new File(dir, "inbox.journal");
    }

    private static SyncMessage msg(ScopeKey key, long id) {
        return msg(key, id, "payload-" + id);
    }

    private static SyncMessage msg(ScopeKey key, long id, String payload) {
        return SyncMessage.builder()
                .bizType(key.bizType())
                .scope(key.scope())
                .userId(key.scope() == Scope.USER ? key.owner() : null)
                .id(id)
                .createdAt(1_000 + id)
                .payload(payload)
                .build();
    }

    /** ALERTS' message 1 on timeline 7, after the scope was restarted there. */
    private static SyncMessage newTimelineMessage1() {
        return SyncMessage.builder().bizType(ALERTS.bizType()).scope(ALERTS.scope()).id(1).epoch(7)
                .payload("new timeline").build();
    }

    private static List<SyncMessage> msgs(ScopeKey key, long... ids) {
        List<SyncMessage> out = new ArrayList<>();
        for (long id : ids) {
            out.add(msg(key, id));
        }
        return out;
    }

    private static List<Long> ids(Inbox inbox, ScopeKey key) {
        return inbox.pending(key).stream().map(SyncMessage::id).collect(Collectors.toList());
    }

    @Test
    void storedMessagesSurviveAReopenWithEveryField() throws IOException {
        ScopeKey odd = ScopeKey.user("a/b c.d+é|%=:#", "user/with space=x");
        SyncMessage unicode = msg(odd, 9, "héllo \u2603 \uD83D\uDE00 \"quoted\"\nline");
        SyncMessage deviceAsAlice = SyncMessage.builder().bizType("alerts").scope(Scope.DEVICE).userId("alice")
                .id(3).createdAt(77).payload("").build();
        try (Inbox inbox = Inbox.open(dir)) {
            assertThat(inbox.store(msgs(NOTES_ALICE, 1, 2))).containsExactly(NOTES_ALICE);
            inbox.store(Arrays.asList(unicode, deviceAsAlice, msg(NEWS, 100)));
        }

        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(reopened.pending(NOTES_ALICE)).containsExactly(msg(NOTES_ALICE, 1), msg(NOTES_ALICE, 2));
            assertThat(reopened.pending(odd)).containsExactly(unicode);
            // the user the client was signed in as when a DEVICE message came is kept too
            assertThat(reopened.pending(ALERTS)).containsExactly(deviceAsAlice);
            assertThat(reopened.pending(NEWS)).containsExactly(msg(NEWS, 100));
            assertThat(reopened.pendingCount()).isEqualTo(5);
            assertThat(reopened.highs()).containsOnly(entry(NOTES_ALICE, 2L), entry(odd, 9L), entry(ALERTS, 3L),
                    entry(NEWS, 100L));
        }
    }

    @Test
    void resendsAtOrBelowTheHighestStoredIdAreNotStoredAgain() throws IOException {
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(msgs(NOTES_ALICE, 1, 2, 3));
            inbox.recordAttempt(NOTES_ALICE, 1, 1);
            inbox.remove(NOTES_ALICE, 1, false);
            long size = inbox.fileBytes();

            assertThat(inbox.store(msgs(NOTES_ALICE, 1, 2, 3))).isEmpty();
            assertThat(inbox.fileBytes()).isEqualTo(size);
            // gaps are fine (the server may have trimmed ids); only what is above the mark is new
            assertThat(inbox.store(msgs(NOTES_ALICE, 2, 3, 7, 9))).containsExactly(NOTES_ALICE);
            assertThat(ids(inbox, NOTES_ALICE)).containsExactly(2L, 3L, 7L, 9L);
            assertThat(inbox.high(NOTES_ALICE)).isEqualTo(9L);
        }
    }

    @Test
    void pendingBytesFollowStoresRemovalsRestartsAndAReopen() throws IOException {
        long stored;
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(msgs(NOTES_ALICE, 1, 2, 3));
            inbox.store(msgs(ALERTS, 1));
            stored = inbox.pendingBytes(key -> key.equals(NOTES_ALICE));
            assertThat(stored).isPositive();
            inbox.remove(NOTES_ALICE, 1, false);
            assertThat(inbox.pendingBytes(key -> key.equals(NOTES_ALICE))).isEqualTo(stored * 2 / 3);
            inbox.restart(ALERTS, 9);
            assertThat(inbox.pendingBytes(key -> key.equals(ALERTS))).isZero();
        }
        try (Inbox inbox = Inbox.open(dir)) {
            assertThat(inbox.pendingBytes(key -> true)).isEqualTo(stored * 2 / 3);
        }
    }

    @Test
    void scopesAreIndependent() throws IOException {
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(msgs(NOTES_ALICE, 5));
            assertThat(inbox.store(msgs(NOTES_BOB, 1, 5))).containsExactly(NOTES_BOB);
            inbox.store(msgs(ALERTS, 1));

            assertThat(inbox.head(NOTES_ALICE).message().id()).isEqualTo(5L);
            assertThat(inbox.head(NOTES_BOB).message().id()).isEqualTo(1L);
            assertThat(inbox.pendingScopes()).containsExactly(ALERTS, NOTES_ALICE, NOTES_BOB);
            inbox.remove(NOTES_BOB, 1, false);
            assertThat(ids(inbox, NOTES_BOB)).containsExactly(5L);
            assertThat(ids(inbox, NOTES_ALICE)).containsExactly(5L);
        }
    }

    @Test
    void attemptsAndRemovalsArePersisted() throws IOException {
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(msgs(ALERTS, 1, 2, 3));
            inbox.recordAttempt(ALERTS, 1, 1);
            inbox.remove(ALERTS, 1, false);
            inbox.recordAttempt(ALERTS, 2, 1);
            inbox.recordAttempt(ALERTS, 2, 2);
            inbox.recordAttempt(ALERTS, 2, 3);
        }
        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(ids(reopened, ALERTS)).containsExactly(2L, 3L);
            assertThat(reopened.head(ALERTS).attempts()).isEqualTo(3);
            assertThat(reopened.get(ALERTS, 3).attempts()).isZero();
            reopened.remove(ALERTS, 2, true);
        }
        try (Inbox again = Inbox.open(dir)) {
            assertThat(ids(again, ALERTS)).containsExactly(3L);
            assertThat(again.high(ALERTS)).isEqualTo(3L);
        }
    }

    @Test
    void attemptsAndRemovalsNeedNoFsyncToSurviveTheProcess() throws IOException {
        // no close(): what a process that died leaves; the OS has the written bytes
        Inbox inbox = Inbox.open(dir);
        inbox.store(msgs(ALERTS, 1, 2));
        inbox.recordAttempt(ALERTS, 1, 4);
        inbox.remove(ALERTS, 2, false);

        Inbox reopened = Inbox.open(dir);
        assertThat(ids(reopened, ALERTS)).containsExactly(1L);
        assertThat(reopened.head(ALERTS).attempts()).isEqualTo(4);
        reopened.close();
        inbox.close();
    }

    @Test
    void attemptsAndRemovalsGoToTheJournalWithoutGrowingTheLogUntilItsNextWrite() throws IOException {
        Inbox inbox = Inbox.open(dir);
        inbox.store(msgs(ALERTS, 1, 2, 3));
        long logBytes = inbox.fileBytes();
        inbox.recordAttempt(ALERTS, 1, 1);
        inbox.remove(ALERTS, 1, false);
        inbox.recordAttempt(ALERTS, 2, 1);
        // no write to the log for them: the journal, a mapped file, has them
        assertThat(inbox.fileBytes()).isEqualTo(logBytes);
        assertThat(log().length()).isEqualTo(logBytes);
        inbox.store(msgs(ALERTS, 4));
        // the next write took them along: the log alone, without the journal, has them
        File logOnly = new File(dir, "log-only");
        assertThat(logOnly.mkdir()).isTrue();
        Files.copy(log().toPath(), new File(logOnly, Inbox.FILE_NAME).toPath());
        try (Inbox fromLog = Inbox.open(logOnly)) {
            assertThat(ids(fromLog, ALERTS)).containsExactly(2L, 3L, 4L);
            assertThat(fromLog.head(ALERTS).attempts()).isEqualTo(1);
        }

        // no close(): the process dies; both the log and the journal are what the OS has
        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(ids(reopened, ALERTS)).containsExactly(2L, 3L, 4L);
            assertThat(reopened.head(ALERTS).attempts()).isEqualTo(1);
        }
        inbox.close();
    }

    /**
     * A crash after a write of the log took the journal's records along, before the journal
     * started over, leaves a journal whose records are in the log already. Replayed after the
     * log's newer records, its DONE would remove a message of the scope's new timeline that has
     * the same id: it must be ignored.
     */
    @Test
    void aJournalLeftBehindByAWriteOfTheLogIsNotReplayedAfterIt() throws IOException {
        Inbox inbox = Inbox.open(dir);
        inbox.store(msgs(ALERTS, 1, 2));
        inbox.recordAttempt(ALERTS, 1, 1);
        inbox.remove(ALERTS, 1, false);
        byte[] stale = Files.readAllBytes(journal().toPath());
        inbox.restart(ALERTS, 7); // a write of the log: takes the DONE along, then EPOCH
        inbox.store(Collections.singletonList(newTimelineMessage1()));
        Files.write(journal().toPath(), stale);

        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(ids(reopened, ALERTS)).containsExactly(1L);
            assertThat(reopened.head(ALERTS).message().payload()).isEqualTo("new timeline");
            assertThat(reopened.epoch(ALERTS)).isEqualTo(7L);
        }
        inbox.close();
    }

    /**
     * A power loss may write the journal's pages to disk in any order: its header as it is now,
     * the page after it as an earlier generation left it. That generation's DONE of message 1 must
     * not remove the new timeline's message 1.
     */
    @Test
    void entriesOfAnEarlierGenerationBehindTheCurrentHeaderAreNotReplayed() throws IOException {
        Inbox inbox = Inbox.open(dir);
        inbox.store(msgs(ALERTS, 1, 2));
        inbox.remove(ALERTS, 1, false);
        byte[] earlier = Files.readAllBytes(journal().toPath());
        inbox.restart(ALERTS, 7);
        inbox.store(Collections.singletonList(newTimelineMessage1()));
        byte[] now = Files.readAllBytes(journal().toPath());
        // the current header (magic, log state, generation: 24 bytes), the earlier entries after it
        System.arraycopy(now, 0, earlier, 0, 24);
        Files.write(journal().toPath(), earlier);

        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(ids(reopened, ALERTS)).containsExactly(1L);
            assertThat(reopened.head(ALERTS).message().payload()).isEqualTo("new timeline");
        }
        inbox.close();
    }

    @Test
    void aFullJournalHandsItsRecordsToTheLog() throws IOException {
        Inbox inbox = Inbox.open(dir);
        inbox.store(msgs(ALERTS, 1));
        long logBytes = inbox.fileBytes();
        // far more than the journal's 2 MiB hold: it fills, and the log takes over
        int attempts = 100_000;
        for (int a = 1; a <= attempts; a++) {
            inbox.recordAttempt(ALERTS, 1, a);
        }
        assertThat(inbox.fileBytes()).isGreaterThan(logBytes);
        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(reopened.head(ALERTS).attempts()).isEqualTo(attempts);
        }
        inbox.close();
    }

    /**
     * A crash while appending tears the last record at any byte: every earlier record must be
     * read back, the torn one ignored, and the log repaired so that later appends are readable.
     */
    @Test
    void aTornLastRecordAtAnyByteKeepsEverythingBeforeIt() throws IOException {
        long before;
        long after;
        byte[] journalBefore;
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(msgs(NOTES_ALICE, 1, 2));
            inbox.recordAttempt(NOTES_ALICE, 1, 2);
            inbox.recordAttempt(NOTES_ALICE, 2, 1);
            before = inbox.fileBytes();
            journalBefore = Files.readAllBytes(journal().toPath());
            inbox.store(Collections.singletonList(msg(NOTES_ALICE, 3, "the torn one")));
            after = inbox.fileBytes();
        }
        byte[] full = Files.readAllBytes(log().toPath());
        assertThat((long) full.length).isEqualTo(after);

        for (long cut = before; cut < after; cut++) {
            Files.write(log().toPath(), Arrays.copyOf(full, (int) cut));
            // a crash inside that append also leaves the delivery journal as it was before it
            // (the attempt is there until a write of the log took it along)
            Files.write(journal().toPath(), journalBefore);
            try (Inbox torn = Inbox.open(dir)) {
                assertThat(ids(torn, NOTES_ALICE)).as("cut at %d", cut).containsExactly(1L, 2L);
                assertThat(torn.head(NOTES_ALICE).attempts()).isEqualTo(2);
                // the write may have stopped inside the journal's records it took along: the
                // journal still has the ones it did not leave whole
                assertThat(torn.get(NOTES_ALICE, 2).attempts()).as("cut at %d", cut).isEqualTo(1);
                // the torn message was never fsync'd, so never acked: the server sends it again
                assertThat(torn.high(NOTES_ALICE)).isEqualTo(2L);
                assertThat(log().length()).isEqualTo(torn.fileBytes());
                assertThat(torn.store(msgs(NOTES_ALICE, 3))).containsExactly(NOTES_ALICE);
            }
            try (Inbox repaired = Inbox.open(dir)) {
                assertThat(ids(repaired, NOTES_ALICE)).as("cut at %d", cut).containsExactly(1L, 2L, 3L);
            }
        }
    }

    @Test
    void aCorruptRecordEndsTheReplayButKeepsTheRecordsBeforeIt() throws IOException {
        long second;
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(msgs(ALERTS, 1));
            second = inbox.fileBytes();
            inbox.store(msgs(ALERTS, 2));
            inbox.store(msgs(ALERTS, 3));
        }
        // flip one byte of the second record's body: its CRC no longer matches
        try (RandomAccessFile f = new RandomAccessFile(log(), "rw")) {
            f.seek(second + 12);
            int b = f.read();
            f.seek(second + 12);
            f.write(b ^ 0x40);
        }

        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(ids(reopened, ALERTS)).containsExactly(1L);
            // the log was rewritten from what was read: appending to it is safe again
            reopened.store(msgs(ALERTS, 2));
        }
        try (Inbox again = Inbox.open(dir)) {
            assertThat(ids(again, ALERTS)).containsExactly(1L, 2L);
        }
    }

    @Test
    void anAbsurdRecordLengthIsTreatedAsATornTail() throws IOException {
        long end;
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(msgs(ALERTS, 1));
            end = inbox.fileBytes();
        }
        try (RandomAccessFile f = new RandomAccessFile(log(), "rw")) {
            f.seek(end);
            f.writeInt(Integer.MAX_VALUE);
            f.writeInt(0);
            f.write(new byte[100]);
        }
        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(ids(reopened, ALERTS)).containsExactly(1L);
            assertThat(log().length()).isEqualTo(reopened.fileBytes());
        }
    }

    @Test
    void compactionDropsDoneMessagesButKeepsPendingOnesAttemptsAndHighWaterMarks() throws IOException {
        try (Inbox inbox = Inbox.open(dir, 4 * 1024)) {
            char[] big = new char[200];
            Arrays.fill(big, 'x');
            for (long id = 1; id <= 60; id++) {
                inbox.store(Collections.singletonList(msg(ALERTS, id, new String(big))));
            }
            inbox.store(msgs(NOTES_BOB, 4));
            inbox.recordAttempt(NOTES_BOB, 4, 5);
            long grown = inbox.fileBytes();
            assertThat(grown).isGreaterThan(4 * 1024);
            for (long id = 1; id <= 59; id++) {
                inbox.recordAttempt(ALERTS, id, 1);
                inbox.remove(ALERTS, id, false);
            }
            // compacted along the way: far smaller than everything ever written
            assertThat(inbox.fileBytes()).isLessThan(4 * 1024);
            assertThat(log().length()).isEqualTo(inbox.fileBytes());
            assertThat(new File(dir, Inbox.FILE_NAME + ".tmp")).doesNotExist();
        }
        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(ids(reopened, ALERTS)).containsExactly(60L);
            assertThat(ids(reopened, NOTES_BOB)).containsExactly(4L);
            assertThat(reopened.head(NOTES_BOB).attempts()).isEqualTo(5);
            // deduplication survives: the done messages are gone from the file, their ids are not
            assertThat(reopened.store(msgs(ALERTS, 59, 60))).isEmpty();
            assertThat(reopened.highs()).containsOnly(entry(ALERTS, 60L), entry(NOTES_BOB, 4L));
        }
    }

    @Test
    void anEmptiedInboxKeepsItsHighWaterMarksAfterCompaction() throws IOException {
        try (Inbox inbox = Inbox.open(dir, 1)) {
            inbox.store(msgs(NEWS, 41, 42));
            inbox.remove(NEWS, 41, false);
            inbox.remove(NEWS, 42, false);
            assertThat(inbox.pendingCount()).isZero();
        }
        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(reopened.high(NEWS)).isEqualTo(42L);
            assertThat(reopened.store(msgs(NEWS, 42))).isEmpty();
        }
    }

    @Test
    void aTempFileLeftByACrashedCompactionIsIgnored() throws IOException {
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(msgs(ALERTS, 1));
        }
        Files.write(new File(dir, Inbox.FILE_NAME + ".tmp").toPath(), "MSSINBX1 half a compaction".getBytes(
                StandardCharsets.US_ASCII));

        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(ids(reopened, ALERTS)).containsExactly(1L);
        }
        assertThat(new File(dir, Inbox.FILE_NAME + ".tmp")).doesNotExist();
    }

    @Test
    void aFileThatIsNoInboxIsMovedAsideAndTheInboxStartsEmpty() throws IOException {
        Files.write(log().toPath(), "not an inbox at all".getBytes(StandardCharsets.US_ASCII));

        try (Inbox inbox = Inbox.open(dir)) {
            assertThat(inbox.pendingCount()).isZero();
            inbox.store(msgs(ALERTS, 1));
        }
        assertThat(new File(dir, Inbox.CORRUPT_NAME)).exists();
        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(ids(reopened, ALERTS)).containsExactly(1L);
        }
    }

    @Test
    void createsAMissingStateDirectory() throws IOException {
        File nested = new File(dir, "a/b/c");
        try (Inbox inbox = Inbox.open(nested)) {
            inbox.store(msgs(ALERTS, 1));
        }
        assertThat(new File(nested, Inbox.FILE_NAME)).isFile();
    }

    private static List<SyncMessage> onEpoch(long epoch, List<SyncMessage> messages) {
        List<SyncMessage> out = new ArrayList<>();
        for (SyncMessage m : messages) {
            out.add(SyncMessage.builder().bizType(m.bizType()).scope(m.scope()).userId(m.userId()).id(m.id())
                    .createdAt(m.createdAt()).payload(m.payload()).epoch(epoch).build());
        }
        return out;
    }

    @Test
    void aScopeTakesTheFirstKnownEpochAndKeepsItAcrossAReopen() throws IOException {
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(msgs(ALERTS, 1, 2));
            assertThat(inbox.epoch(ALERTS)).isZero();
            inbox.store(onEpoch(77, msgs(ALERTS, 2, 3)));
            assertThat(inbox.epoch(ALERTS)).isEqualTo(77);
            assertThat(ids(inbox, ALERTS)).containsExactly(1L, 2L, 3L);
        }
        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(reopened.epoch(ALERTS)).isEqualTo(77);
            assertThat(reopened.high(ALERTS)).isEqualTo(3);
            assertThat(reopened.pending(ALERTS)).extracting(SyncMessage::epoch).containsExactly(0L, 0L, 77L);
        }
    }

    @Test
    void aRestartDropsThePendingMessagesDurablyAndTakesTheNewTimelinesLowIds() throws IOException {
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(onEpoch(77, msgs(ALERTS, 30, 31, 32)));
            inbox.store(msgs(NEWS, 5));
            assertThat(inbox.restart(ALERTS, 88)).extracting(SyncMessage::id).containsExactly(30L, 31L, 32L);
            assertThat(inbox.high(ALERTS)).isZero();
            assertThat(inbox.store(onEpoch(88, msgs(ALERTS, 1, 2)))).containsExactly(ALERTS);
        }
        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(reopened.epoch(ALERTS)).isEqualTo(88);
            assertThat(reopened.high(ALERTS)).isEqualTo(2);
            assertThat(ids(reopened, ALERTS)).containsExactly(1L, 2L);
            assertThat(ids(reopened, NEWS)).containsExactly(5L);
        }
    }

    @Test
    void aRestartedScopeWithNothingNewKeepsItsEpochThroughCompaction() throws IOException {
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(onEpoch(77, msgs(ALERTS, 30, 31)));
            inbox.restart(ALERTS, 88);
        }
        // a threshold of 1 byte compacts at open: the log is all garbage now
        long before = log().length();
        try (Inbox compacted = Inbox.open(dir, 1)) {
            assertThat(compacted.epoch(ALERTS)).isEqualTo(88);
        }
        assertThat(log().length()).isLessThan(before);
        try (Inbox reopened = Inbox.open(dir)) {
            assertThat(reopened.epoch(ALERTS)).isEqualTo(88);
            assertThat(reopened.high(ALERTS)).isZero();
            assertThat(reopened.pendingCount()).isZero();
        }
    }

    @Test
    void aMessageOfAnotherKnownEpochIsRefusedUntilTheScopeIsRestarted() throws IOException {
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(onEpoch(77, msgs(ALERTS, 1)));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> inbox.store(onEpoch(88, msgs(ALERTS, 2))))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThat(ids(inbox, ALERTS)).containsExactly(1L);
        }
    }

    /** Regression: a restart on the same epoch, then a crash before the sync point file followed, must not resume the old position. */
    @Test
    void aSameEpochRestartRecordedInTheInboxLowersTheSyncPointAtTheNextStart() throws Exception {
        io.mss.client.internal.SyncPointStore points = io.mss.client.internal.SyncPointStore.open(dir);
        try (Inbox inbox = Inbox.open(dir)) {
            inbox.store(msgs(NOTES_ALICE, 1, 2, 3));
            points.put(NOTES_ALICE, 0, 3);
            points.save();
            // the server found 3 above its head (an older copy of its store): same timeline, start over
            inbox.restart(NOTES_ALICE, 0);
        }
        io.mss.client.internal.SyncPointStore reloaded = io.mss.client.internal.SyncPointStore.load(dir);
        assertThat(reloaded.get(NOTES_ALICE)).isEqualTo(0L);
    }
}
