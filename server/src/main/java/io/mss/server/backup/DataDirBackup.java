package io.mss.server.backup;

import io.mss.server.auth.ApiKeys;
import io.mss.server.auth.Secrets;
import io.mss.server.startup.LockHolder;

import io.mss.server.store.rocksdb.RocksDbStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * Backs up and restores what makes a node on the embedded store: the oplog store and the
 * operation records (copied live, see {@link LiveRocksDbCopy}), the secrets and API keys, and the
 * TLS files. A backup has the layout of a data dir, plus {@value #MANIFEST}; a node can even be
 * started on it as it is. Client state ({@code clients/} of {@code ./mss listen}) is not part of it.
 */
public final class DataDirBackup {
    public static final String MANIFEST = "backup.properties";
    static final String STORE = "store";
    static final String RECORDS = "records";
    static final List<String> FILES = List.of(Secrets.API_KEY_FILE, Secrets.TOKEN_SECRET_FILE, ApiKeys.FILE);
    static final String TLS = "tls";

    private DataDirBackup() {
    }

    /** What a backup holds. */
    public record Summary(Path dir, long storeKeys, long recordKeys, List<String> files) {
    }

    /** Copies a data dir, whose server may be running, into {@code to} (which must not exist or be empty). */
    public static Summary backup(Path dataDir, Path to, String version) throws IOException {
        if (!Files.isDirectory(dataDir.resolve(STORE))) {
            throw new BackupException("no store in " + dataDir + ": pass the server's data dir with --data-dir");
        }
        if (Files.exists(to) && !isEmptyDir(to)) {
            throw new BackupException(to + " exists and is not empty: back up into a new directory");
        }
        Files.createDirectories(to);
        long storeKeys = LiveRocksDbCopy.copy(dataDir.resolve(STORE), to.resolve(STORE));
        long recordKeys = Files.isDirectory(dataDir.resolve(RECORDS))
                ? LiveRocksDbCopy.copy(dataDir.resolve(RECORDS), to.resolve(RECORDS)) : 0;
        List<String> files = copyFiles(dataDir, to);
        String manifest = "# an MSS backup: restore it with ./mss restore --from " + to + "\n"
                + "createdAt=" + java.time.Instant.now() + "\n"
                + "version=" + version + "\n"
                + "source=" + dataDir.toAbsolutePath().normalize() + "\n"
                + "storeKeys=" + storeKeys + "\n"
                + "recordKeys=" + recordKeys + "\n";
        Files.writeString(to.resolve(MANIFEST), manifest, StandardCharsets.UTF_8);
        return new Summary(to, storeKeys, recordKeys, files);
    }

    /**
     * Puts a backup in place of a data dir whose server is stopped. What the data dir held is
     * moved aside into {@code before-restore-<time>/} inside it, not deleted.
     *
     * @return where the previous contents went, or null when there were none
     */
    public static Path restore(Path from, Path dataDir) throws IOException {
        if (!Files.isRegularFile(from.resolve(MANIFEST))) {
            throw new BackupException(from + " is not an MSS backup (no " + MANIFEST + ")");
        }
        Path lock = dataDir.resolve(STORE).resolve("LOCK");
        if (locked(lock)) {
            OptionalLong holder = LockHolder.of(lock);
            throw new BackupException("the data dir " + dataDir + " is in use by a running MSS server"
                    + (holder.isPresent() ? " (pid " + holder.getAsLong() + ")" : "") + ": stop it before restoring into it");
        }
        Files.createDirectories(dataDir);
        Path aside = null;
        List<String> parts = new ArrayList<>(List.of(STORE, RECORDS, TLS));
        parts.addAll(FILES);
        for (String part : parts) {
            if (Files.exists(dataDir.resolve(part))) {
                if (aside == null) {
                    aside = Files.createDirectories(dataDir.resolve("before-restore-"
                            + java.time.LocalDateTime.now().withNano(0).toString().replace(':', '-')));
                }
                Files.move(dataDir.resolve(part), aside.resolve(part));
            }
        }
        copyTree(from.resolve(STORE), dataDir.resolve(STORE));
        if (Files.isDirectory(from.resolve(RECORDS))) {
            copyTree(from.resolve(RECORDS), dataDir.resolve(RECORDS));
        }
        copyFiles(from, dataDir);
        // devices may hold positions the backup never saw (ahead of it): every scope starts a new
        // timeline, so each device is told FULL_UPDATE once instead of waiting for ids that will
        // now carry other data
        try (RocksDbStore store = RocksDbStore.open(dataDir.resolve(STORE))) {
            store.startNewTimelines();
        }
        return aside;
    }

    private static List<String> copyFiles(Path from, Path to) throws IOException {
        List<String> copied = new ArrayList<>();
        for (String file : FILES) {
            if (Files.isRegularFile(from.resolve(file))) {
                Files.copy(from.resolve(file), to.resolve(file), StandardCopyOption.COPY_ATTRIBUTES);
                copied.add(file);
            }
        }
        if (Files.isDirectory(from.resolve(TLS))) {
            copyTree(from.resolve(TLS), to.resolve(TLS));
            copied.add(TLS + "/");
        }
        return copied;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    // file modes too: the secrets and the TLS key stay readable by their owner only
                    Files.copy(path, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    /** Whether another process holds the lock RocksDB takes on its LOCK file (a POSIX lock, as Java's). */
    private static boolean locked(Path lock) throws IOException {
        if (!Files.exists(lock)) {
            return false;
        }
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(lock,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.channels.FileLock held = channel.tryLock();
            if (held == null) {
                return true;
            }
            held.release();
            return false;
        }
    }

    private static boolean isEmptyDir(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    /** A backup or restore that cannot go ahead for a reason the operator can fix; the message says which. */
    public static final class BackupException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BackupException(String message) {
            super(message);
        }
    }
}
