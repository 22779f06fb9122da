package io.mss.server.startup;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading the holder of a lock from /proc/locks lines, as Linux writes them. */
class LockHolderTest {
    private static final List<String> PROC_LOCKS = List.of(
            "1: POSIX  ADVISORY  WRITE 8447 fe:00:2146803 0 EOF",
            "2: POSIX  ADVISORY  WRITE 8447 fe:00:2146795 0 EOF",
            "2: -> POSIX  ADVISORY  WRITE 9001 fe:00:2146795 0 EOF",
            "3: FLOCK  ADVISORY  WRITE 3785 fe:00:1474572 0 EOF");

    @Test
    void theHolderOfTheFilesInodeIsFoundAndWaitersAreNot() {
        assertThat(LockHolder.of("2146795", PROC_LOCKS)).hasValue(8447);
        assertThat(LockHolder.of("1474572", PROC_LOCKS)).hasValue(3785);
    }

    @Test
    void anInodeNobodyLocksHasNoHolder() {
        assertThat(LockHolder.of("42", PROC_LOCKS)).isEmpty();
        // an inode that only ends like another one is not it
        assertThat(LockHolder.of("46795", PROC_LOCKS)).isEmpty();
    }
}
