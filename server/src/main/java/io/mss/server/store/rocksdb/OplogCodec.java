package io.mss.server.store.rocksdb;

import io.mss.server.store.DeliveryFilter;
import io.mss.server.store.Oplog;
import io.mss.server.store.Scope;
import io.mss.server.store.StoreException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The value of an oplog. Scope and id live in the key, so they are not repeated here.
 *
 * <p>Layout (version 1): format version byte, flags byte (bit 0: thirdMsgId present),
 * payload, [thirdMsgId], createdAt, validFrom, validUntil. Strings are a varint byte length
 * plus UTF-8 (payloads can exceed the 64 KiB of {@code writeUTF}); the times are varints,
 * since validFrom and validUntil are mostly 0 and a millisecond timestamp needs 6 bytes.
 * Flag bit 1 adds a delivery filter at the end: osTypes (count, strings), appMinVersion,
 * appMaxVersion (empty for none), uids (count, strings), a byte of which uid bounds follow, the bounds.
 */
final class OplogCodec {

    static final byte FORMAT_V1 = 1;
    private static final int HAS_THIRD_MSG_ID = 1;
    private static final int HAS_FILTER = 2;
    private static final int FILTER_UID_FROM = 1;
    private static final int FILTER_UID_TO = 2;

    private OplogCodec() {
    }

    static byte[] encode(Oplog oplog) {
        byte[] payload = oplog.payload().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(payload.length + 32);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(FORMAT_V1);
            boolean filtered = !oplog.filter().isNone();
            out.writeByte((oplog.thirdMsgId() == null ? 0 : HAS_THIRD_MSG_ID) | (filtered ? HAS_FILTER : 0));
            writeVarLong(out, payload.length);
            out.write(payload);
            if (oplog.thirdMsgId() != null) {
                byte[] thirdMsgId = oplog.thirdMsgId().getBytes(StandardCharsets.UTF_8);
                writeVarLong(out, thirdMsgId.length);
                out.write(thirdMsgId);
            }
            writeVarLong(out, oplog.createdAt());
            writeVarLong(out, oplog.validFrom());
            writeVarLong(out, oplog.validUntil());
            if (filtered) {
                writeFilter(out, oplog.filter());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return bytes.toByteArray();
    }

    static Oplog decode(Scope scope, long id, byte[] value) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(value))) {
            int version = in.readUnsignedByte();
            if (version != FORMAT_V1) {
                throw new StoreException("oplog " + scope + "/" + id + " has unknown format version "
                        + version + "; was it written by a newer server?");
            }
            int flags = in.readUnsignedByte();
            String payload = readString(in);
            String thirdMsgId = (flags & HAS_THIRD_MSG_ID) != 0 ? readString(in) : null;
            long createdAt = readVarLong(in);
            long validFrom = readVarLong(in);
            long validUntil = readVarLong(in);
            DeliveryFilter filter = (flags & HAS_FILTER) != 0 ? readFilter(in) : DeliveryFilter.NONE;
            return new Oplog(scope, id, payload, thirdMsgId, createdAt, validFrom, validUntil, filter);
        } catch (IOException e) {
            throw new StoreException("oplog " + scope + "/" + id + " is corrupt: " + e, e);
        }
    }

    private static void writeFilter(DataOutputStream out, DeliveryFilter filter) throws IOException {
        writeStrings(out, filter.osTypes());
        writeString(out, filter.appMinVersion() == null ? "" : filter.appMinVersion());
        writeString(out, filter.appMaxVersion() == null ? "" : filter.appMaxVersion());
        writeStrings(out, filter.uids());
        out.writeByte((filter.uidFrom() != null ? FILTER_UID_FROM : 0) | (filter.uidTo() != null ? FILTER_UID_TO : 0));
        if (filter.uidFrom() != null) {
            out.writeLong(filter.uidFrom());
        }
        if (filter.uidTo() != null) {
            out.writeLong(filter.uidTo());
        }
    }

    private static DeliveryFilter readFilter(DataInputStream in) throws IOException {
        Set<String> osTypes = readStrings(in);
        String min = readString(in);
        String max = readString(in);
        Set<String> uids = readStrings(in);
        int bounds = in.readUnsignedByte();
        Long from = (bounds & FILTER_UID_FROM) != 0 ? in.readLong() : null;
        Long to = (bounds & FILTER_UID_TO) != 0 ? in.readLong() : null;
        return new DeliveryFilter(osTypes, min, max, uids, from, to);
    }

    private static void writeStrings(DataOutputStream out, Set<String> strings) throws IOException {
        writeVarLong(out, strings.size());
        for (String s : strings) {
            writeString(out, s);
        }
    }

    private static Set<String> readStrings(DataInputStream in) throws IOException {
        long count = readVarLong(in);
        if (count < 0 || count > 1_000_000) {
            throw new IOException("string count " + count + " out of range");
        }
        Set<String> strings = new LinkedHashSet<>();
        for (long i = 0; i < count; i++) {
            strings.add(readString(in));
        }
        return strings;
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        writeVarLong(out, bytes.length);
        out.write(bytes);
    }

    private static String readString(DataInputStream in) throws IOException {
        long length = readVarLong(in);
        if (length < 0 || length > Integer.MAX_VALUE) {
            throw new IOException("string length " + length + " out of range");
        }
        byte[] bytes = new byte[(int) length];
        in.readFully(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Unsigned LEB128: negative values still round-trip, they just take 10 bytes. */
    private static void writeVarLong(DataOutputStream out, long value) throws IOException {
        while ((value & ~0x7FL) != 0) {
            out.writeByte((int) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        out.writeByte((int) value);
    }

    private static long readVarLong(DataInputStream in) throws IOException {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("truncated varint");
            }
            value |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        throw new IOException("varint longer than 10 bytes");
    }
}
