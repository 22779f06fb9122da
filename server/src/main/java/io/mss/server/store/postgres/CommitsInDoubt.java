package io.mss.server.store.postgres;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mss.server.store.Oplog;
import io.mss.server.store.ScopeHead;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
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
 * before it could settle settles when it comes back. A node that never comes back leaves its
 * batches unsettled (docs/cluster.md). Writer thread only.
 */
final class CommitsInDoubt {

    /** The file in the data dir that holds the batches in doubt, while there are any. */
    static final String FILE_NAME = "commits-in-doubt.json";

    private static final Logger log = LoggerFactory.getLogger(CommitsInDoubt.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** How a settlement ended. */
    record Settled(int oplogs, Set<String> stored, Set<String> newTimelines) {
    }

    /** What settling needs of one oplog in doubt: where it would be and what it would hold. */
    record Entry(String scopeKey, long id, String payload, long createdAt) {
    }

    /** Where the entries are kept across a restart; null: in memory only. */
    private final Path file;
    /** scope key -> the oplogs of batches in doubt, in id order */
    private final Map<String, List<Entry>> byScope = new LinkedHashMap<>();

    /** Reads what a previous run of this node left in doubt in {@code file} (null: keep nothing on disk). */
    CommitsInDoubt(Path file) {
        this.file = file;
        if (file != null && Files.exists(file)) {
            try {
                List<Entry> left = JSON.readValue(file.toFile(), new TypeReference<List<Entry>>() { });
                left.forEach(this::put);
                log.warn("{} oplogs of commits never answered before this node stopped ({}): settled before the"
                        + " first append", left.size(), file);
            } catch (IOException e) {
                // settling on a guess could renew the wrong scopes or none: a person has to look
                throw new IllegalStateException("cannot read the commits in doubt in " + file + ": " + e.getMessage()
                        + "; it lists oplogs whose commit was never answered (docs/cluster.md)", e);
            }
        }
    }

    /** Adds a batch whose commit was never answered, and keeps the whole set on disk before returning. */
    void add(List<Oplog> oplogs) {
        for (Oplog oplog : oplogs) {
            put(new Entry(oplog.scope().key(), oplog.id(), oplog.payload(), oplog.createdAt()));
        }
        save();
    }

    private void put(Entry entry) {
        byScope.computeIfAbsent(entry.scopeKey(), k -> new ArrayList<>()).add(entry);
    }

    /** The scope keys in doubt, for a message. */
    Set<String> scopeKeys() {
        return byScope.keySet();
    }

    /** Replaces the file with the current set, durably (fsync of the file and of its directory); removes it when empty. */
    private void save() {
        if (file == null) {
            return;
        }
        try {
            if (byScope.isEmpty()) {
                Files.deleteIfExists(file);
            } else {
                List<Entry> all = new ArrayList<>();
                byScope.values().forEach(all::addAll);
                Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
                try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
                    ByteBuffer bytes = ByteBuffer.wrap(JSON.writeValueAsBytes(all));
                    while (bytes.hasRemaining()) {
                        channel.write(bytes);
                    }
                    channel.force(true);
                }
                try {
                    // payloads are the business's data
                    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
                } catch (UnsupportedOperationException ignored) {
                    // not a POSIX file system
                }
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                dir.force(true);
            }
        } catch (IOException e) {
            // still settled by this run; only a stop before that would forget them
            log.error("cannot keep the commits in doubt in {}: {}; a restart before they are settled forgets {}",
                    file, e.toString(), byScope.keySet());
        }
    }

    boolean isEmpty() {
        return byScope.isEmpty();
    }

    /**
     * Settles everything in doubt in one transaction of its own on {@code connection} (left in
     * manual commit): locks the scopes' rows, finds which oplogs are stored as written, draws new
     * epochs for the other scopes that exist. Nothing is forgotten unless the transaction commits.
     */
    Settled settle(Connection connection) throws SQLException {
        connection.setAutoCommit(false);
        try {
            String[] keys = byScope.keySet().toArray(String[]::new);
            Set<String> existing = lock(connection, keys);
            Set<String> incomplete = incompleteScopes(connection);
            List<String> renew = new ArrayList<>();
            Set<String> stored = new HashSet<>();
            for (String key : keys) {
                if (!incomplete.contains(key)) {
                    stored.add(key);
                } else if (existing.contains(key)) {
                    renew.add(key);
                }
                // a scope whose row is not there at all starts with a fresh epoch at its next append
            }
            if (!renew.isEmpty()) {
                Long[] epochs = new Long[renew.size()];
                for (int i = 0; i < epochs.length; i++) {
                    epochs[i] = ScopeHead.newEpoch();
                }
                try (PreparedStatement update = connection.prepareStatement("UPDATE scope_head h SET epoch = v.e"
                        + " FROM unnest(?::text[], ?::bigint[]) AS v(k, e) WHERE h.scope_key = v.k")) {
                    update.setArray(1, connection.createArrayOf("text", renew.toArray(String[]::new)));
                    update.setArray(2, connection.createArrayOf("bigint", epochs));
                    update.executeUpdate();
                }
            }
            connection.commit();
            int oplogs = byScope.values().stream().mapToInt(List::size).sum();
            Set<String> newTimelines = new HashSet<>(incomplete);
            byScope.clear();
            save();
            return new Settled(oplogs, stored, newTimelines);
        } catch (SQLException | RuntimeException e) {
            try {
                connection.rollback();
            } catch (SQLException rollbackFailed) {
                e.addSuppressed(rollbackFailed);
            }
            throw e;
        }
    }

    /**
     * Locks the rows of the scopes that exist, in byte order as every writer does; returns their keys.
     * The row locks also give the settlement a transaction id, so its commit waits for the synchronous
     * standby like any write: once it returns, the WAL before it (the rows found "stored") is on the
     * standby too, even when this is still the primary that took the cut commit.
     */
    private static Set<String> lock(Connection connection, String[] keys) throws SQLException {
        Set<String> existing = new HashSet<>();
        try (PreparedStatement lock = connection.prepareStatement("SELECT scope_key FROM scope_head"
                + " WHERE scope_key = ANY(?::text[]) ORDER BY scope_key COLLATE \"C\" FOR UPDATE")) {
            lock.setArray(1, connection.createArrayOf("text", keys));
            try (ResultSet rs = lock.executeQuery()) {
                while (rs.next()) {
                    existing.add(rs.getString(1));
                }
            }
        }
        return existing;
    }

    /** The scopes with an oplog in doubt that is not stored under its id with its payload and time. */
    private Set<String> incompleteScopes(Connection connection) throws SQLException {
        List<Entry> all = new ArrayList<>();
        byScope.values().forEach(all::addAll);
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
        byScope.forEach((key, oplogs) -> {
            if (found.getOrDefault(key, 0) < oplogs.size()) {
                incomplete.add(key);
            }
        });
        return incomplete;
    }
}
