package io.mss.server.store.postgres;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mss.server.store.Oplog;
import io.mss.server.store.ScopeHead;
import io.mss.server.store.StoreException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Batches whose {@code COMMIT} was sent and never answered: the connection broke, so the batch may
 * be stored or not. It was answered 503 either way. When a primary dies while a backend waits for
 * the synchronous standby, that backend finishes the commit locally and, for a moment, other
 * backends of the dying primary show its rows; a session may have delivered one, while the
 * promoted standby never had it and gives its id to the next push. Devices holding such a row
 * would never get the acknowledged oplog of that id.
 *
 * <p>So before it writes anything else, the writer settles every batch in doubt on the database
 * it reaches next: a scope whose oplogs are all there as written keeps its timeline (the commit
 * replicated; only the answer was lost); any other scope starts a new timeline (a new epoch, ids
 * go on from its head), so every session on it tells its device FULL_UPDATE and starts over from
 * the scope's retained start, on what the database really holds.
 *
 * <p>What is in doubt is kept in a file of the node's data dir ({@link #FILE_NAME}), written and
 * fsync'd before the batch is answered 503, and read back at start: a node stopped or killed
 * before it could settle settles when it comes back. Files named {@code commits-in-doubt.*.json}
 * (another node's, copied in because that node will not come back) are read with it. A lock file
 * keeps a second node off the same data dir. Writer thread only, except {@link #pending}.
 */
final class CommitsInDoubt implements AutoCloseable {

    /** The file in the data dir that holds the batches in doubt, while there are any. */
    static final String FILE_NAME = "commits-in-doubt.json";
    private static final String LOCK_NAME = "commits-in-doubt.lock";
    private static final String OTHER_FILES = "commits-in-doubt.*.json";

    private static final Logger log = LoggerFactory.getLogger(CommitsInDoubt.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The lock files this process holds. */
    private static final Set<Path> LOCKED_HERE = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** How a settlement ended: scopes kept as they are, and scopes that started a new timeline. */
    record Settled(int oplogs, Set<String> stored, Set<String> newTimelines) {
    }

    /**
     * What settling needs of one oplog in doubt: where it would be, on which timeline, and what it
     * would hold.
     */
    record Entry(String scopeKey, long epoch, long id, String payload, long createdAt) {
    }

    /** The data dir the entries are kept in across a restart; null: in memory only. */
    private final Path dir;
    private final FileChannel lockChannel;
    private final Path lockFile;
    /** scope key -> the oplogs of batches in doubt, in id order */
    private final Map<String, List<Entry>> byScope = new LinkedHashMap<>();
    /** How many oplogs are in doubt, for the gauge; written on the writer thread only. */
    private volatile int pending;

    /**
     * Takes the data dir for this node and reads what a previous run left in doubt there.
     *
     * @param dir the node's data dir; null keeps nothing on disk (tools, tests)
     * @throws StoreException when another node holds the data dir, or a file cannot be read
     */
    CommitsInDoubt(Path dir) {
        this.dir = dir;
        if (dir == null) {
            lockChannel = null;
            lockFile = null;
            return;
        }
        lockFile = lockedFile(dir);
        lockChannel = lock(lockFile, dir);
        try {
            List<Path> files = new ArrayList<>();
            if (Files.exists(dir.resolve(FILE_NAME))) {
                files.add(dir.resolve(FILE_NAME));
            }
            try (DirectoryStream<Path> others = Files.newDirectoryStream(dir, OTHER_FILES)) {
                others.forEach(files::add);
            }
            for (Path file : files) {
                List<Entry> left = read(file);
                left.forEach(this::put);
                log.warn("{} oplogs of commits never answered, from {}: settled before the first append", left.size(),
                        file);
            }
            if (files.size() > 1 || (files.size() == 1 && !files.get(0).endsWith(FILE_NAME))) {
                // one file from now on; the others are in it
                save();
                for (Path file : files) {
                    if (!file.endsWith(FILE_NAME)) {
                        Files.delete(file);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e instanceof StoreException se ? se
                    : new StoreException("cannot read the commits in doubt in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static FileChannel lock(Path lockFile, Path dir) {
        // checked before a channel is opened: closing a second channel on the file would drop the
        // first one's lock (POSIX locks belong to the process), so this process opens one at most
        if (!LOCKED_HERE.add(lockFile)) {
            throw inUse(dir);
        }
        FileChannel channel = null;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            if (channel.tryLock() != null) {
                return channel;
            }
        } catch (IOException e) {
            closeQuietly(channel);
            LOCKED_HERE.remove(lockFile);
            throw new StoreException("cannot lock " + lockFile + ": " + e.getMessage(), e);
        }
        closeQuietly(channel);
        LOCKED_HERE.remove(lockFile);
        throw inUse(dir);
    }

    /** The lock file of {@code dir}, by its real path, so that two spellings of one dir are one lock. */
    private static Path lockedFile(Path dir) {
        try {
            Files.createDirectories(dir);
            return dir.toRealPath().resolve(LOCK_NAME);
        } catch (IOException e) {
            throw new StoreException("cannot lock " + dir.resolve(LOCK_NAME) + ": " + e.getMessage(), e);
        }
    }

    private static StoreException inUse(Path dir) {
        return new StoreException("the data dir " + dir + " is in use by another MSS node; give each node its own"
                + " --data-dir (it keeps the node's commits in doubt)");
    }

    private static List<Entry> read(Path file) {
        try {
            return JSON.readValue(file.toFile(), new TypeReference<List<Entry>>() { });
        } catch (IOException e) {
            // settling on a guess could renew the wrong scopes or none: a person has to look
            throw new StoreException("cannot read the commits in doubt in " + file + ": " + e.getMessage()
                    + "; it lists oplogs whose commit was never answered (docs/cluster.md)", e);
        }
    }

    /** Adds a batch whose commit was never answered, and tries to keep the whole set on disk before returning. */
    void add(List<Oplog> oplogs) {
        for (Oplog oplog : oplogs) {
            put(new Entry(oplog.scope().key(), oplog.epoch(), oplog.id(), oplog.payload(), oplog.createdAt()));
        }
        try {
            save();
        } catch (IOException e) {
            // still settled by this run; only a stop before that forgets them
            log.error("cannot keep the commits in doubt in {}: {}; a restart before they are settled forgets {}",
                    dir, e.toString(), byScope.keySet());
        }
    }

    private void put(Entry entry) {
        byScope.computeIfAbsent(entry.scopeKey(), k -> new ArrayList<>()).add(entry);
        pending++;
    }

    /** The scope keys in doubt, for a message. */
    Set<String> scopeKeys() {
        return byScope.keySet();
    }

    /** Oplogs in doubt, for the gauge. Any thread. */
    int pending() {
        return pending;
    }

    boolean isEmpty() {
        return byScope.isEmpty();
    }

    /** Replaces the file with the current set, durably (fsync of the file and of its directory); removes it when empty. */
    private void save() throws IOException {
        if (dir == null) {
            return;
        }
        Path file = dir.resolve(FILE_NAME);
        if (byScope.isEmpty()) {
            Files.deleteIfExists(file);
        } else {
            List<Entry> all = new ArrayList<>();
            byScope.values().forEach(all::addAll);
            Path tmp = dir.resolve(FILE_NAME + ".tmp");
            // created owner-only, before a byte is in it: payloads are the business's data
            Files.deleteIfExists(tmp);
            try (FileChannel channel = createOwnerOnly(tmp)) {
                ByteBuffer bytes = ByteBuffer.wrap(JSON.writeValueAsBytes(all));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
            directory.force(true);
        }
    }

    private static FileChannel createOwnerOnly(Path file) throws IOException {
        Set<StandardOpenOption> options = EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try {
            return FileChannel.open(file, options, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException notPosix) {
            return FileChannel.open(file, options);
        }
    }

    /**
     * Settles everything in doubt in one transaction of its own on {@code connection} (left in
     * manual commit): locks the scopes' rows, finds which oplogs are stored as written, draws new
     * epochs for the other scopes that exist. An entry written on another timeline than the scope's
     * now was settled before (a settlement whose file removal did not happen, or another node's
     * file holding an older batch): it is left out, as a second new timeline would only reload the
     * devices again; a scope's entries of its current timeline are settled as usual. Nothing is
     * forgotten unless the transaction commits.
     */
    Settled settle(Connection connection) throws SQLException {
        connection.setAutoCommit(false);
        try {
            String[] keys = byScope.keySet().toArray(String[]::new);
            Map<String, Long> epochs = lock(connection, keys);
            // per scope, the entries still on the scope's timeline: one written on another epoch was
            // settled before (a settlement whose file removal did not happen, or another node's)
            Map<String, List<Entry>> current = new LinkedHashMap<>();
            for (String key : keys) {
                Long epoch = epochs.get(key);
                if (epoch == null) {
                    continue; // no row at all: its next append starts it with a fresh epoch
                }
                for (Entry entry : byScope.get(key)) {
                    // epoch 0 on either side (a row or an entry from the previous version) proves nothing
                    if (entry.epoch() == 0 || epoch == 0 || entry.epoch() == epoch) {
                        current.computeIfAbsent(key, k -> new ArrayList<>()).add(entry);
                    }
                }
            }
            Set<String> incomplete = incompleteScopes(connection, current);
            List<String> renew = new ArrayList<>();
            Set<String> stored = new HashSet<>();
            for (String key : current.keySet()) {
                if (incomplete.contains(key)) {
                    renew.add(key);
                } else {
                    stored.add(key);
                }
            }
            if (!renew.isEmpty()) {
                Long[] newEpochs = new Long[renew.size()];
                for (int i = 0; i < newEpochs.length; i++) {
                    newEpochs[i] = ScopeHead.newEpoch();
                }
                try (PreparedStatement update = connection.prepareStatement("UPDATE scope_head h SET epoch = v.e"
                        + " FROM unnest(?::text[], ?::bigint[]) AS v(k, e) WHERE h.scope_key = v.k")) {
                    update.setArray(1, connection.createArrayOf("text", renew.toArray(String[]::new)));
                    update.setArray(2, connection.createArrayOf("bigint", newEpochs));
                    update.executeUpdate();
                }
            }
            connection.commit();
            int oplogs = pending;
            byScope.clear();
            pending = 0;
            try {
                save();
            } catch (IOException e) {
                // settled all the same; the next start finds the scopes on their new timelines and leaves them
                log.warn("cannot remove {} after settling it: {}", dir.resolve(FILE_NAME), e.toString());
            }
            return new Settled(oplogs, stored, new HashSet<>(renew));
        } catch (SQLException | RuntimeException e) {
            try {
                connection.rollback();
            } catch (SQLException rollbackFailed) {
                e.addSuppressed(rollbackFailed);
            }
            throw e;
        }
    }

    /** Lets another store take the data dir. Idempotent. */
    @Override
    public void close() {
        if (lockChannel != null && lockChannel.isOpen()) {
            closeQuietly(lockChannel);
            LOCKED_HERE.remove(lockFile);
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the lock goes with the channel, or with the process
            }
        }
    }

    /**
     * Locks the rows of the scopes that exist, in byte order as every writer does; returns their epochs.
     * The row locks also give the settlement a transaction id, so its commit waits for the synchronous
     * standby like any write: once it returns, the WAL before it (the rows found "stored") is on the
     * standby too, even when this is still the primary that took the cut commit.
     */
    private static Map<String, Long> lock(Connection connection, String[] keys) throws SQLException {
        Map<String, Long> epochs = new HashMap<>();
        try (PreparedStatement lock = connection.prepareStatement("SELECT scope_key, epoch FROM scope_head"
                + " WHERE scope_key = ANY(?::text[]) ORDER BY scope_key COLLATE \"C\" FOR UPDATE")) {
            lock.setArray(1, connection.createArrayOf("text", keys));
            try (ResultSet rs = lock.executeQuery()) {
                while (rs.next()) {
                    epochs.put(rs.getString(1), rs.getLong(2));
                }
            }
        }
        return epochs;
    }

    /** The scopes with an entry that is not stored under its id with its payload and time. */
    private static Set<String> incompleteScopes(Connection connection, Map<String, List<Entry>> entries)
            throws SQLException {
        List<Entry> all = new ArrayList<>();
        entries.values().forEach(all::addAll);
        if (all.isEmpty()) {
            return Set.of();
        }
        String[] scopeKeys = new String[all.size()];
        Long[] ids = new Long[all.size()];
        String[] payloads = new String[all.size()];
        Long[] createdAts = new Long[all.size()];
        for (int i = 0; i < all.size(); i++) {
            Entry entry = all.get(i);
            scopeKeys[i] = entry.scopeKey();
            ids[i] = entry.id();
            payloads[i] = entry.payload();
            createdAts[i] = entry.createdAt();
        }
        Map<String, Integer> found = new LinkedHashMap<>();
        try (PreparedStatement find = connection.prepareStatement("SELECT d.s, count(*) FROM unnest(?::text[],"
                + " ?::bigint[], ?::text[], ?::bigint[]) AS d(s, i, p, c) JOIN oplog o ON o.scope_key = d.s"
                + " AND o.id = d.i AND o.payload = d.p AND o.created_at = d.c GROUP BY d.s")) {
            find.setArray(1, connection.createArrayOf("text", scopeKeys));
            find.setArray(2, connection.createArrayOf("bigint", ids));
            find.setArray(3, connection.createArrayOf("text", payloads));
            find.setArray(4, connection.createArrayOf("bigint", createdAts));
            try (ResultSet rs = find.executeQuery()) {
                while (rs.next()) {
                    found.put(rs.getString(1), rs.getInt(2));
                }
            }
        }
        Set<String> incomplete = new HashSet<>();
        entries.forEach((key, oplogs) -> {
            if (found.getOrDefault(key, 0) < oplogs.size()) {
                incomplete.add(key);
            }
        });
        return incomplete;
    }
}
