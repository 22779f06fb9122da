package io.mss.client.internal;

import io.mss.client.Scope;
import io.mss.client.SyncMessage;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Encodes the inbox's records (the format is in {@link Inbox}'s documentation), each into one
 * array of exactly its size, header included: a catch-up writes one MSG, one ATTEMPT and one DONE
 * record per message, and compaction writes the pending ones again, so this is the client's
 * busiest code per message. The key (scope, bizType, owner) is the same for every record of a
 * scope and is encoded once per scope.
 *
 * <p>Not thread-safe: owned by its inbox, on the client's state thread.
 */
final class InboxRecords {
    static final int HEADER_BYTES = 8;

    static final byte MSG = 1;
    static final byte ATTEMPT = 2;
    static final byte DONE = 3;
    static final byte HIGH = 4;
    static final byte EPOCH = 5;

    /** Encoded keys; as many as the scopes this inbox has seen, which are few. */
    private final Map<ScopeKey, byte[]> keys = new HashMap<>();
    private final CRC32 crc = new CRC32();

    byte[] msg(ScopeKey key, SyncMessage m) {
        byte[] receivedAs = utf8(m.userId() == null ? "" : m.userId());
        byte[] payload = utf8(m.payload());
        ByteBuffer r = start(MSG, key, m.id(), 8 + 4 + receivedAs.length + 4 + payload.length + 8);
        r.putLong(m.createdAt());
        r.putInt(receivedAs.length).put(receivedAs);
        r.putInt(payload.length).put(payload);
        r.putLong(m.epoch());
        return finish(r);
    }

    byte[] attempt(ScopeKey key, long id, int attempts) {
        return finish(start(ATTEMPT, key, id, 4).putInt(attempts));
    }

    byte[] done(ScopeKey key, long id, boolean dropped) {
        return finish(start(DONE, key, id, 1).put((byte) (dropped ? 1 : 0)));
    }

    byte[] high(ScopeKey key, long id, long epoch) {
        return finish(start(HIGH, key, id, 8).putLong(epoch));
    }

    /** EPOCH carries the new epoch where the other records carry an id. */
    byte[] epoch(ScopeKey key, long epoch) {
        return finish(start(EPOCH, key, epoch, 0));
    }

    /** Header left for {@link #finish}, then type, key and id; {@code fieldBytes} follow. */
    private ByteBuffer start(byte type, ScopeKey key, long id, int fieldBytes) {
        byte[] k = keys.computeIfAbsent(key, InboxRecords::encodeKey);
        ByteBuffer r = ByteBuffer.allocate(HEADER_BYTES + 1 + k.length + 8 + fieldBytes);
        r.position(HEADER_BYTES);
        return r.put(type).put(k).putLong(id);
    }

    private byte[] finish(ByteBuffer r) {
        if (r.hasRemaining()) {
            throw new AssertionError("record sized wrongly: " + r.remaining() + " bytes left");
        }
        byte[] record = r.array();
        int bodyLength = record.length - HEADER_BYTES;
        crc.reset();
        crc.update(record, HEADER_BYTES, bodyLength);
        r.putInt(0, bodyLength);
        r.putInt(4, (int) crc.getValue());
        return record;
    }

    private static byte[] encodeKey(ScopeKey key) {
        byte[] bizType = utf8(key.bizType());
        byte[] owner = utf8(key.owner());
        ByteBuffer k = ByteBuffer.allocate(1 + 4 + bizType.length + 4 + owner.length);
        k.put(scopeCode(key.scope()));
        k.putInt(bizType.length).put(bizType);
        k.putInt(owner.length).put(owner);
        return k.array();
    }

    static byte scopeCode(Scope scope) {
        switch (scope) {
            case USER:
                return 1;
            case DEVICE:
                return 2;
            default:
                return 3;
        }
    }

    /** The scope a key's code names; null for an unknown code. */
    static Scope scopeOf(int code) {
        switch (code) {
            case 1:
                return Scope.USER;
            case 2:
                return Scope.DEVICE;
            case 3:
                return Scope.GLOBAL;
            default:
                return null;
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
