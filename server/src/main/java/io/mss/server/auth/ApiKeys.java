package io.mss.server.auth;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * API keys with roles, kept hashed in {@code <data-dir>/api-keys.json}:
 * {@code [{"id","role":"admin"|"push","hash","createdAt"}]}. The legacy key
 * ({@code MSS_API_KEY} or {@code <data-dir>/api-key}) is an admin key with id
 * {@value #LEGACY_ID}; it is not in the file.
 *
 * <p>Hashes are plain SHA-256 (hex) of the key's UTF-8 bytes. A slow, salted hash (PBKDF2,
 * bcrypt) exists to make guessing low-entropy passwords expensive; these keys are 32 random
 * bytes generated here, so a preimage search over 2^256 is out of reach with any hash, and a
 * fast hash lets every request be checked with one digest and a map lookup.
 *
 * <p>The server reads the file through {@link #authenticate}, which reloads it when its
 * modification time or size changed: at most once a second for keys it knows (so a revoke
 * takes effect within a second) and at once on a key it does not know (so a key created by
 * {@code ./mss key create} while the server runs works on its first request). The CLI writes
 * the file atomically (temp file, then rename).
 */
public final class ApiKeys {
    public static final String FILE = "api-keys.json";
    public static final String LEGACY_ID = "api-key";
    private static final long RECHECK_NANOS = 1_000_000_000L;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public enum Role {
        admin, push;

        public static Role parse(String value) {
            for (Role role : values()) {
                if (role.name().equalsIgnoreCase(value)) {
                    return role;
                }
            }
            throw new IllegalArgumentException("role must be admin or push, got '" + value + "'");
        }
    }

    /** One key as stored: never the key itself. */
    public record Entry(String id, String role, String hash, long createdAt) {
    }

    /** Who a presented key belongs to. */
    public record Identity(String id, Role role) {
    }

    /** A key just created: the only time the key text exists outside the caller. */
    public record Created(Entry entry, String key) {
    }

    private final Path file;
    private final byte[] legacyHash;
    private volatile Map<String, Identity> byHash = Map.of();
    private FileTime loadedTime;
    private long loadedSize = -1;
    private volatile long lastCheck;

    /** @param legacyKey the admin key from {@code MSS_API_KEY} or the {@code api-key} file */
    public ApiKeys(Path dataDir, String legacyKey) {
        this.file = dataDir.resolve(FILE);
        this.legacyHash = sha256(Objects.requireNonNull(legacyKey));
        synchronized (this) {
            reloadIfChanged();
        }
    }

    /** The key's owner, or null when no key matches. */
    public Identity authenticate(String presented) {
        byte[] hash = sha256(presented);
        if (MessageDigest.isEqual(hash, legacyHash)) {
            return new Identity(LEGACY_ID, Role.admin);
        }
        String hex = HexFormat.of().formatHex(hash);
        Identity known = byHash.get(hex);
        long now = System.nanoTime();
        if (known == null || now - lastCheck > RECHECK_NANOS) {
            synchronized (this) {
                lastCheck = now;
                reloadIfChanged();
            }
            known = byHash.get(hex);
        }
        return known;
    }

    private void reloadIfChanged() {
        try {
            FileTime time;
            long size;
            try {
                time = Files.getLastModifiedTime(file);
                size = Files.size(file);
            } catch (NoSuchFileException e) {
                byHash = Map.of();
                loadedTime = null;
                loadedSize = -1;
                return;
            }
            if (time.equals(loadedTime) && size == loadedSize) {
                return;
            }
            Map<String, Identity> map = new HashMap<>();
            for (Entry entry : read(file)) {
                map.put(entry.hash().toLowerCase(java.util.Locale.ROOT), new Identity(entry.id(), Role.parse(entry.role())));
            }
            byHash = Map.copyOf(map);
            loadedTime = time;
            loadedSize = size;
        } catch (IOException | RuntimeException e) {
            // a half-written or hand-broken file: keep the keys we had, try again on the next check
            org.slf4j.LoggerFactory.getLogger(ApiKeys.class).warn("cannot read {}: {}", file, e.toString());
        }
    }

    // ---- file operations, for ./mss key (also safe while the server runs) ----

    public static List<Entry> list(Path dataDir) {
        try {
            return read(dataDir.resolve(FILE));
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dataDir.resolve(FILE), e);
        }
    }

    /** Generates a key, stores its hash. @param id null: generated */
    public static synchronized Created create(Path dataDir, Role role, String id, long now) {
        List<Entry> entries = new ArrayList<>(list(dataDir));
        if (id == null || id.isBlank()) {
            byte[] random = new byte[6];
            new SecureRandom().nextBytes(random);
            id = role.name() + "-" + HexFormat.of().formatHex(random);
        }
        if (!id.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new IllegalArgumentException("key id must be 1 to 64 letters, digits, '.', '_' or '-', got '" + id + "'");
        }
        if (id.equals(LEGACY_ID)) {
            throw new IllegalArgumentException("'" + LEGACY_ID + "' is the id of the MSS_API_KEY / api-key file key");
        }
        String wanted = id;
        if (entries.stream().anyMatch(e -> e.id().equals(wanted))) {
            throw new IllegalArgumentException("a key with id '" + id + "' exists; revoke it first or pick another id");
        }
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String key = "mss_" + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        Entry entry = new Entry(id, role.name(), hash(key), now);
        entries.add(entry);
        write(dataDir.resolve(FILE), entries);
        return new Created(entry, key);
    }

    /** @return whether a key with this id existed */
    public static synchronized boolean revoke(Path dataDir, String id) {
        List<Entry> entries = new ArrayList<>(list(dataDir));
        boolean removed = entries.removeIf(e -> e.id().equals(id));
        if (removed) {
            write(dataDir.resolve(FILE), entries);
        }
        return removed;
    }

    /** SHA-256 of the key's UTF-8 bytes, lowercase hex: what the file stores. */
    public static String hash(String key) {
        return HexFormat.of().formatHex(sha256(key));
    }

    /**
     * One digest per thread: looking one up ({@code MessageDigest.getInstance}) cost as much as
     * hashing the key, on every request. Presented keys are hashed, never kept.
     */
    private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    private static byte[] sha256(String key) {
        // digest() resets it for the next caller on this thread
        return SHA_256.get().digest(key.getBytes(StandardCharsets.UTF_8));
    }

    private static List<Entry> read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (new String(bytes, StandardCharsets.UTF_8).isBlank()) {
            return List.of();
        }
        return JSON.readValue(bytes, new TypeReference<List<Entry>>() { });
    }

    private static void write(Path file, List<Entry> entries) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, JSON.writeValueAsBytes(entries));
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
