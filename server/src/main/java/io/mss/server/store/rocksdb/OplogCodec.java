package io.mss.server.store.rocksdb;

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

/**
 * The value of an oplog. Scope and id live in the key, so they are not repeated here.
 *
 * <p>Layout (version 1): format version byte, flags byte (bit 0: thirdMsgId present),
 * payload, [thirdMsgId], createdAt, validFrom, validUntil. Strings are a varint byte length
 * plus UTF-8 (payloads can exceed the 64 KiB of {@code writeUTF}); the times are varints,
 * since validFrom and validUntil are mostly 0 and a millisecond timestamp needs 6 bytes.
 */
final class OplogCodec {

    static final byte FORMAT_V1 = 1;
    private static final int HAS_THIRD_MSG_ID = 1;

    private OplogCodec() {
    }

    static byte[] encode(Oplog oplog) {
        byte[] payload = oplog.payload().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(payload.length + 32);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(FORMAT_V1);
            out.writeByte(oplog.thirdMsgId() == null ? 0 : HAS_THIRD_MSG_ID);
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
            return new Oplog(scope, id, payload, thirdMsgId, createdAt, validFrom, validUntil);
        } catch (IOException e) {
            throw new StoreException("oplog " + scope + "/" + id + " is corrupt: " + e, e);
        }
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
