package io.mss.client.internal;

import io.mss.client.Scope;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UnsupportedEncodingException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The sync points of one state directory, in {@value #FILE_NAME}.
 *
 * <p>Each line is {@code SCOPE/bizType/owner=id@epoch} with bizType and owner URL-encoded, so
 * that any character in them survives and the file stays readable. The epoch names the timeline
 * the id belongs to (protocol version 2); a line without {@code @epoch}, as written before
 * epochs existed, is epoch 0: not known. The whole file is rewritten on
 * {@link #save()}: with a handful of scopes that is cheaper to get right than an append log,
 * and the rename makes a crash leave either the old or the new file, never a torn one.
 *
 * <p>Not thread-safe: the client's state thread owns it.
 */
public final class SyncPointStore {
    public static final String FILE_NAME = "syncpoints.properties";
    static final String TMP_NAME = FILE_NAME + ".tmp";

    private static final Logger LOG = Logger.getLogger("io.mss.client");

    private final File dir;
    private final File file;
    private final File tmp;
    private final Map<ScopeKey, Long> points = new HashMap<>();
    /** Non-zero epochs only: a scope absent here is on an unknown timeline (epoch 0). */
    private final Map<ScopeKey, Long> epochs = new HashMap<>();

    private SyncPointStore(File dir) {
        this.dir = dir;
        this.file = new File(dir, FILE_NAME);
        this.tmp = new File(dir, TMP_NAME);
    }

    /** Creates the directory if needed and loads what an earlier process saved. */
    public static SyncPointStore open(File dir) throws IOException {
        if (!dir.isDirectory() && !dir.mkdirs() && !dir.isDirectory()) {
            throw new IOException("cannot create state directory " + dir);
        }
        SyncPointStore store = new SyncPointStore(dir);
        store.load();
        return store;
    }

    /** The stored sync point, or null when this scope has none. */
    public Long get(ScopeKey key) {
        return points.get(key);
    }

    /** The epoch of the timeline the stored sync point belongs to; 0 when not known or none. */
    public long epoch(ScopeKey key) {
        Long epoch = epochs.get(key);
        return epoch == null ? 0 : epoch;
    }

    /**
     * Raises the sync point of {@code key} to {@code id} on its current timeline, in memory; call
     * {@link #save()} to persist. Never lowers it: a sync point promises the server everything up
     * to it is stored.
     *
     * @return whether the value changed
     */
    public boolean put(ScopeKey key, long id) {
        Long old = points.get(key);
        if (old != null && old >= id) {
            return false;
        }
        points.put(key, id);
        return true;
    }

    /**
     * Raises the sync point of {@code key} to {@code id} on timeline {@code epoch}. A stored
     * epoch of 0 (not known) takes {@code epoch}; an {@code epoch} of 0 (a version 1 server)
     * leaves the stored one. Ids of two different timelines are not comparable, so moving to
     * another epoch is {@link #restart}'s job, never this method's.
     *
     * @return whether anything changed
     * @throws IllegalArgumentException when both epochs are known and differ
     */
    public boolean put(ScopeKey key, long epoch, long id) {
        long stored = epoch(key);
        if (epoch != 0 && stored != 0 && epoch != stored) {
            throw new IllegalArgumentException("sync point of " + key + " is on epoch " + stored
                    + ", not " + epoch + ": restart the scope first");
        }
        boolean changed = false;
        if (epoch != 0 && stored == 0) {
            epochs.put(key, epoch);
            changed = true;
        }
        return put(key, id) || changed;
    }

    /**
     * Starts the scope over on timeline {@code epoch}: the sync point becomes
     * {@code (epoch, 0)}, the only case where it goes down. In memory; call {@link #save()}.
     */
    public void restart(ScopeKey key, long epoch) {
        points.put(key, 0L);
        if (epoch == 0) {
            epochs.remove(key);
        } else {
            epochs.put(key, epoch);
        }
    }

    public Map<ScopeKey, Long> snapshot() {
        return Collections.unmodifiableMap(new HashMap<>(points));
    }

    /**
     * What a Hello should carry: the sync points of {@code bizTypes}, with USER scopes only for
     * {@code userIdOrNull}. Sorted, so that Hellos are deterministic.
     */
    public Map<ScopeKey, Long> forSession(Collection<String> bizTypes, String userIdOrNull) {
        Map<ScopeKey, Long> out = new LinkedHashMap<>();
        points.entrySet().stream()
                .filter(e -> bizTypes.contains(e.getKey().bizType()) && e.getKey().visibleTo(userIdOrNull))
                .sorted((a, b) -> a.getKey().toString().compareTo(b.getKey().toString()))
                .forEachOrdered(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** Atomically replaces the file with the current sync points: temp file, fsync, rename. */
    public void save() throws IOException {
        Properties props = new Properties();
        for (Map.Entry<ScopeKey, Long> e : points.entrySet()) {
            long epoch = epoch(e.getKey());
            props.setProperty(encodeKey(e.getKey()), e.getValue() + (epoch == 0 ? "" : "@" + epoch));
        }
        try (FileOutputStream out = new FileOutputStream(tmp)) {
            props.store(out, "MSS client sync points: SCOPE/bizType/owner=highest id stored in the inbox@epoch"
                    + " (URL-encoded)");
            out.flush();
            out.getFD().sync();
        }
        Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory();
    }

    /** Makes the rename itself durable; not every platform can open a directory, which is fine. */
    private void syncDirectory() {
        try (FileChannel ch = FileChannel.open(dir.toPath(), StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.FINEST, "cannot fsync directory " + dir, e);
        }
    }

    private void load() throws IOException {
        // a temp file is a save that crashed before its rename: the old file is still the truth
        if (tmp.exists() && !tmp.delete()) {
            LOG.warning("cannot delete stale " + tmp);
        }
        if (!file.exists()) {
            return;
        }
        Properties props = new Properties();
        try (InputStream in = new FileInputStream(file)) {
            props.load(in);
        } catch (IllegalArgumentException e) {
            // Only an outside edit can get here (saves are atomic). Starting empty is safe: the
            // server then resumes from the sync points it stored at our last acks.
            File aside = new File(dir, FILE_NAME + ".corrupt");
            LOG.log(Level.SEVERE, "unreadable " + file + ", moving it to " + aside + " and starting without sync points", e);
            Files.move(file.toPath(), aside.toPath(), StandardCopyOption.REPLACE_EXISTING);
            return;
        }
        for (String name : props.stringPropertyNames()) {
            ScopeKey key = decodeKey(name);
            String value = props.getProperty(name).trim();
            int at = value.indexOf('@');
            Long id = parseId(at < 0 ? value : value.substring(0, at));
            // no "@epoch": a file from before epochs, whose ids belong to a timeline not known
            Long epoch = at < 0 ? Long.valueOf(0) : parseId(value.substring(at + 1));
            if (key == null || id == null || epoch == null || id < 0 || epoch < 0) {
                LOG.warning("ignoring malformed sync point line in " + file + ": " + name + "=" + props.getProperty(name));
                continue;
            }
            points.put(key, id);
            if (epoch != 0) {
                epochs.put(key, epoch);
            }
        }
    }

    static String encodeKey(ScopeKey key) {
        return key.scope().name() + '/' + encode(key.bizType()) + '/' + encode(key.owner());
    }

    static ScopeKey decodeKey(String name) {
        String[] parts = name.split("/", -1);
        if (parts.length != 3) {
            return null;
        }
        try {
            Scope scope = Scope.valueOf(parts[0]);
            String bizType = decode(parts[1]);
            String owner = decode(parts[2]);
            if (bizType.isEmpty()) {
                return null;
            }
            return new ScopeKey(bizType, scope, owner);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Long parseId(String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String encode(String s) {
        try {
            return URLEncoder.encode(s, "UTF-8");
        } catch (UnsupportedEncodingException e) {
            throw new AssertionError("UTF-8 is always supported", e);
        }
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, "UTF-8");
        } catch (UnsupportedEncodingException e) {
            throw new AssertionError("UTF-8 is always supported", e);
        }
    }
}
