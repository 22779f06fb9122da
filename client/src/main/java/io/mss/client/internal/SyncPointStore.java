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
 * <p>Each line is {@code SCOPE/bizType/owner=id} with bizType and owner URL-encoded, so that
 * any character in them survives and the file stays readable. The whole file is rewritten on
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

    /**
     * Raises the sync point of {@code key} to {@code id} in memory; call {@link #save()} to
     * persist. Never lowers it: a sync point promises the server everything up to it is stored.
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
            props.setProperty(encodeKey(e.getKey()), Long.toString(e.getValue()));
        }
        try (FileOutputStream out = new FileOutputStream(tmp)) {
            props.store(out, "MSS client sync points: SCOPE/bizType/owner=highest id stored in the inbox (URL-encoded)");
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
            Long id = parseId(props.getProperty(name));
            if (key == null || id == null) {
                LOG.warning("ignoring malformed sync point line in " + file + ": " + name + "=" + props.getProperty(name));
                continue;
            }
            put(key, id);
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
