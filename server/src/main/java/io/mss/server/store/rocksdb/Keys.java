package io.mss.server.store.rocksdb;

import io.mss.server.store.Scope;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Key layouts of the column families. Everything that must sort numerically is big-endian,
 * because RocksDB compares keys byte by byte.
 */
final class Keys {

    /** Separates the text parts of idempotency and sync point keys; none of them holds a NUL. */
    private static final byte SEPARATOR = 0;
    private static final int ID_BYTES = Long.BYTES;
    private static final int MAX_SCOPE_KEY_BYTES = 0xFFFF;

    private Keys() {
    }

    /**
     * The bytes every oplog key of the scope starts with. The length comes first so that no
     * scope's keys can interleave with another scope whose key merely extends this one.
     */
    static byte[] scopePrefix(String scopeKey) {
        byte[] key = utf8(scopeKey);
        if (key.length > MAX_SCOPE_KEY_BYTES) {
            throw new IllegalArgumentException("scope key is longer than " + MAX_SCOPE_KEY_BYTES
                    + " bytes: " + scopeKey.substring(0, 64) + "...");
        }
        return ByteBuffer.allocate(2 + key.length).putShort((short) key.length).put(key).array();
    }

    static byte[] oplogKey(byte[] scopePrefix, long id) {
        return ByteBuffer.allocate(scopePrefix.length + ID_BYTES).put(scopePrefix).putLong(id).array();
    }

    /**
     * An exclusive upper bound for the scope's oplog keys: ids are positive, so all-ones
     * (unsigned maximum) is never a stored id.
     */
    static byte[] scopeUpperBound(byte[] scopePrefix) {
        return oplogKey(scopePrefix, -1L);
    }

    static long oplogId(byte[] oplogKey) {
        return ByteBuffer.wrap(oplogKey, oplogKey.length - ID_BYTES, ID_BYTES).getLong();
    }

    static String scopeKeyOf(byte[] oplogKey) {
        int length = Short.toUnsignedInt(ByteBuffer.wrap(oplogKey).getShort());
        return new String(oplogKey, 2, length, StandardCharsets.UTF_8);
    }

    /** The inverse of {@link Scope#key()}; the owner comes last, so it may hold '|'. */
    static Scope parseScopeKey(String scopeKey) {
        int bar = scopeKey.indexOf('|');
        if (bar < 0 || scopeKey.length() < bar + 3 || scopeKey.charAt(bar + 2) != '|') {
            throw new IllegalArgumentException("not a scope key: " + scopeKey);
        }
        char kindLetter = scopeKey.charAt(bar + 1);
        for (Scope.Kind kind : Scope.Kind.values()) {
            if (kind.name().charAt(0) == kindLetter) {
                return new Scope(scopeKey.substring(0, bar), kind, scopeKey.substring(bar + 3));
            }
        }
        throw new IllegalArgumentException("not a scope key: " + scopeKey);
    }

    static byte[] idempotencyKey(String bizType, String linkToken, String thirdMsgId) {
        return join(bizType, linkToken, thirdMsgId);
    }

    /** Scope first, so that the devices of one scope read as one range (and a cluster shards by scope). */
    static byte[] syncPointKey(String deviceId, String scopeKey) {
        return join(scopeKey, deviceId);
    }

    /** The prefix of every sync point key of a scope. */
    static byte[] syncPointPrefix(String scopeKey) {
        return join(scopeKey, "");
    }

    /** Scope index: scope keys start with the bizType and '|', so one bizType's scopes read as a range. */
    static byte[] scopeIndexKey(String scopeKey) {
        return utf8(scopeKey);
    }

    static byte[] bizTypeScopesPrefix(String bizType) {
        return utf8(bizType + '|');
    }

    static byte[] idempotencyPrefix(String bizType) {
        return join(bizType, "");
    }

    static byte[] bizTypeKey(String id) {
        return utf8(id);
    }

    /**
     * A scope's head: {@code lastId, epoch}, 16 bytes. Stores written before epochs existed hold
     * the last id alone (8 bytes); {@link RocksDbStore} gives those an epoch when it opens them.
     */
    static byte[] encodeHead(long lastId, long epoch) {
        return ByteBuffer.allocate(2 * Long.BYTES).putLong(lastId).putLong(epoch).array();
    }

    static io.mss.server.store.ScopeHead decodeHead(byte[] value) {
        ByteBuffer head = ByteBuffer.wrap(value);
        long lastId = head.getLong();
        long epoch = head.remaining() >= Long.BYTES ? head.getLong() : 0;
        return new io.mss.server.store.ScopeHead(epoch, lastId);
    }

    /** A stored sync point and when it was acked. */
    record StoredSyncPoint(io.mss.server.store.SyncPointStore.Position position, long ackedAt) {
    }

    /** A sync point: {@code id, ackedAt, epoch}; older stores hold {@code id, ackedAt} or the id alone (epoch 0). */
    static byte[] encodeSyncPoint(io.mss.server.store.SyncPointStore.Position position, long ackedAt) {
        return ByteBuffer.allocate(3 * Long.BYTES).putLong(position.id()).putLong(ackedAt).putLong(position.epoch())
                .array();
    }

    static StoredSyncPoint decodeSyncPoint(byte[] value) {
        ByteBuffer point = ByteBuffer.wrap(value);
        long id = point.getLong();
        long ackedAt = point.remaining() >= Long.BYTES ? point.getLong() : 0;
        long epoch = point.remaining() >= Long.BYTES ? point.getLong() : 0;
        return new StoredSyncPoint(new io.mss.server.store.SyncPointStore.Position(epoch, id), ackedAt);
    }

    static byte[] encodeLong(long value) {
        return ByteBuffer.allocate(Long.BYTES).putLong(value).array();
    }

    static long decodeLong(byte[] bytes) {
        return ByteBuffer.wrap(bytes).getLong();
    }

    static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length
                && java.util.Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static byte[] join(String... parts) {
        byte[][] encoded = new byte[parts.length][];
        int length = parts.length - 1;
        for (int i = 0; i < parts.length; i++) {
            encoded[i] = utf8(parts[i]);
            length += encoded[i].length;
        }
        ByteBuffer key = ByteBuffer.allocate(length);
        for (int i = 0; i < encoded.length; i++) {
            if (i > 0) {
                key.put(SEPARATOR);
            }
            key.put(encoded[i]);
        }
        return key.array();
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
