package io.mss.client.internal;

import io.mss.client.Scope;
import io.mss.client.SyncMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What an app that dies inside a callback leaves in {@code inbox.running}, read by the next
 * {@link Inbox#open} from a copy of the state directory as the process left it (no close).
 */
class RunningAttemptTest {
    static final ScopeKey NOTES = ScopeKey.device("notes");

    @TempDir
    File dir;
    @TempDir
    File copy;

    static SyncMessage note(long id, long epoch) {
        return SyncMessage.builder().bizType("notes").scope(Scope.DEVICE).id(id).epoch(epoch).payload("n" + id).build();
    }

    /** The files as a killed process leaves them: what it stored, in the page cache. */
    File crashed() throws IOException {
        for (File f : dir.listFiles()) {
            Files.copy(f.toPath(), new File(copy, f.getName()).toPath(),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return copy;
    }

    /** An inbox holding note 1 of timeline 3, never attempted. */
    Inbox inboxWithNote1() throws IOException {
        Inbox inbox = Inbox.open(dir);
        inbox.store(Arrays.asList(note(1, 3)));
        return inbox;
    }

    int attemptsAfterCrash(long id) throws IOException {
        Inbox reopened = Inbox.open(crashed());
        try {
            return reopened.get(NOTES, id).attempts();
        } finally {
            reopened.close();
        }
    }

    @Test
    void anAttemptWhoseCallbackWasRunningIsCountedByTheNextOpen() throws Exception {
        Inbox inbox = Inbox.open(dir);
        inbox.store(Arrays.asList(note(1, 3), note(2, 3)));
        // the inbox itself has not counted message 2: only the callback side stored it
        assertThat(inbox.running().begin(NOTES, 2, 3, 1)).isTrue();
        assertThat(attemptsAfterCrash(2)).isEqualTo(1);
        assertThat(attemptsAfterCrash(1)).isZero();
        inbox.close();
    }

    @Test
    void theCountIsInTheLogOnceOpenedAndTheLeftoverIsCleared() throws Exception {
        Inbox inbox = inboxWithNote1();
        inbox.running().begin(NOTES, 1, 3, 2);
        File crashed = crashed();
        Inbox first = Inbox.open(crashed);
        assertThat(first.get(NOTES, 1).attempts()).isEqualTo(2);
        // the app lowers nothing; a second crash before any callback finds the log's count
        first.running().begin(NOTES, 1, 3, 0);
        Inbox second = Inbox.open(crashed);
        assertThat(second.get(NOTES, 1).attempts()).isEqualTo(2);
        second.close();
        inbox.close();
    }

    @Test
    void aCallbackThatReturnedStaysCountedUntilTheNextOne() throws Exception {
        Inbox inbox = inboxWithNote1();
        inbox.store(Arrays.asList(note(2, 3)));
        // 1's callback returned, the process died before the state thread counted it
        inbox.running().begin(NOTES, 1, 3, 1);
        assertThat(attemptsAfterCrash(1)).isEqualTo(1);
        inbox.running().begin(NOTES, 2, 3, 1);
        assertThat(attemptsAfterCrash(2)).isEqualTo(1);
        inbox.close();
    }

    @Test
    void closingTheInboxClearsItAndStoresNothingMore() throws Exception {
        Inbox inbox = inboxWithNote1();
        RunningAttempt running = inbox.running();
        running.begin(NOTES, 1, 3, 1);
        inbox.close();
        // a callback still running in the closed client: cut short by close, not counted
        assertThat(running.begin(NOTES, 1, 3, 1)).isFalse();
        assertThat(attemptsAfterCrash(1)).isZero();
    }

    @Test
    void anAttemptOnAnotherTimelineOrOfAnAckedMessageCountsNothing() throws Exception {
        Inbox inbox = inboxWithNote1();
        inbox.running().begin(NOTES, 1, 2, 1);
        assertThat(attemptsAfterCrash(1)).isZero();
        inbox.running().begin(NOTES, 7, 3, 1);
        Inbox reopened = Inbox.open(crashed());
        assertThat(reopened.get(NOTES, 7)).isNull();
        assertThat(reopened.get(NOTES, 1).attempts()).isZero();
        reopened.close();
        inbox.close();
    }

    @Test
    void aTornOrCorruptLeftoverCountsNothing() throws Exception {
        Inbox inbox = inboxWithNote1();
        inbox.running().begin(NOTES, 1, 3, 1);
        File crashed = crashed();
        try (RandomAccessFile f = new RandomAccessFile(new File(crashed, RunningAttempt.FILE_NAME), "rw")) {
            // one byte of the body flipped: the CRC no longer matches
            f.seek(16 + 8 + InboxRecords.HEADER_BYTES + 3);
            int b = f.read();
            f.seek(16 + 8 + InboxRecords.HEADER_BYTES + 3);
            f.write(b ^ 0x40);
        }
        Inbox reopened = Inbox.open(crashed);
        assertThat(reopened.get(NOTES, 1).attempts()).isZero();
        reopened.close();
        inbox.close();
    }
}
