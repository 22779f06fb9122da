package io.mss.server.startup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * Which process holds the lock on a file, read from Linux's {@code /proc/locks}: RocksDB takes a
 * POSIX lock on its {@code LOCK} file, and a second server on the same data dir should be able to
 * name the first one.
 */
public final class LockHolder {
    private LockHolder() {
    }

    /** The pid holding a lock on {@code file}; empty when it is not known (not Linux, no lock seen). */
    public static OptionalLong of(Path file) {
        try {
            Object inode = Files.getAttribute(file, "unix:ino");
            return of(inode.toString(), Files.readAllLines(Path.of("/proc/locks")));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * Parses lines such as {@code 2: POSIX  ADVISORY  WRITE 8447 fe:00:2146795 0 EOF}: the pid,
     * then {@code major:minor:inode}. Other processes' blocked waiters ({@code ->}) are skipped.
     */
    static OptionalLong of(String inode, List<String> procLocks) {
        for (String line : procLocks) {
            if (line.contains("->")) {
                continue;
            }
            String[] fields = line.trim().split("\\s+");
            if (fields.length < 6) {
                continue;
            }
            String device = fields[5];
            if (device.endsWith(":" + inode)) {
                try {
                    return OptionalLong.of(Long.parseLong(fields[4]));
                } catch (NumberFormatException e) {
                    return OptionalLong.empty();
                }
            }
        }
        return OptionalLong.empty();
    }
}
