package io.mss.client.internal;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * The delivery attempt whose callback runs, or ran last, in a small memory-mapped file
 * ({@value #FILE_NAME}): stored right before each callback and kept until the next one (the
 * state thread counts an attempt in the inbox a little after its callback may have returned).
 * An app whose process dies inside a callback, or right after it, leaves it behind, and the next
 * {@link Inbox#open} counts that attempt; once the inbox holds it, or the message is done, the
 * leftover changes nothing (it only ever raises a count to an attempt that did start). It lets the callback thread go on from one message of a scope to the next
 * after an ack given inside the callback, without waiting for the state thread to count the next
 * attempt in the inbox first (a round trip between the two threads per message): the state thread
 * still records each attempt in the inbox, a little later, and this covers the time in between.
 * A store into the mapping is a copy into the page cache, which outlives the process, as the
 * {@link DeliveryJournal}'s records do; like theirs, a power loss may lose it.
 *
 * <p>Format: the magic {@code MSSRUN01}, u32 length (0: none), u32 CRC of the
 * body, then the body: u64 the message's epoch and an ATTEMPT record exactly as in the inbox's
 * log. The length is stored last and zeroed first, so a process killed while storing leaves
 * nothing that reads as an attempt (and its callback had not started).
 *
 * <p>Owned by the callback side: {@link #begin} is called by whichever thread
 * runs the client's callbacks, one at a time. Synchronized all the same, so that {@link #close}
 * (state thread) ends it for good: an attempt cut short by closing the client is not counted,
 * and a callback still running in a closed client never overwrites what a new client on the
 * same state directory stored.
 */
final class RunningAttempt implements Closeable {
    static final String FILE_NAME = "inbox.running";
    private static final byte[] MAGIC = "MSSRUN01".getBytes(StandardCharsets.US_ASCII);
    private static final int LENGTH_OFFSET = MAGIC.length;
    private static final int BODY_OFFSET = MAGIC.length + 8;
    /** A key holds a bizType and a userId (each at most a few hundred bytes): far below this. */
    static final int BYTES = 64 * 1024;

    /** What an earlier process left: the attempt whose callback it died in. */
    static final class Leftover {
        final long epoch;
        /** The ATTEMPT record's body (type, key, id, attempts), as the inbox's replay reads it. */
        final byte[] body;

        Leftover(long epoch, byte[] body) {
            this.epoch = epoch;
            this.body = body;
        }
    }

    private final MappedByteBuffer map;
    private final InboxRecords encoder = new InboxRecords();
    private final CRC32 crc = new CRC32();
    private boolean closed;

    private RunningAttempt(MappedByteBuffer map) {
        this.map = map;
    }

    /**
     * Maps the file, creating it with its blocks written (not sparse: a store into a mapped page
     * with no disk block behind it, on a full disk, kills the process instead of failing here).
     */
    static RunningAttempt open(File dir) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(new File(dir, FILE_NAME), "rw")) {
            if (file.length() < BYTES) {
                file.seek(file.length());
                file.write(new byte[(int) (BYTES - file.length())]);
                file.getFD().sync();
            }
            MappedByteBuffer map = file.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, BYTES);
            byte[] magic = new byte[MAGIC.length];
            map.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                map.putInt(LENGTH_OFFSET, 0);
                map.position(0);
                map.put(MAGIC);
            }
            return new RunningAttempt(map);
        }
    }

    /** The attempt an earlier process was running when it died; null when none. */
    synchronized Leftover leftover() {
        byte[] magic = new byte[MAGIC.length];
        map.position(0);
        map.get(magic);
        int length = map.getInt(LENGTH_OFFSET);
        if (!Arrays.equals(magic, MAGIC) || length <= 8 + InboxRecords.HEADER_BYTES
                || length > BYTES - BODY_OFFSET) {
            return null;
        }
        byte[] body = new byte[length];
        map.position(BODY_OFFSET);
        map.get(body);
        crc.reset();
        crc.update(body, 0, length);
        if ((int) crc.getValue() != map.getInt(LENGTH_OFFSET + 4)) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(body);
        long epoch = b.getLong();
        int recordLength = b.getInt();
        if (recordLength != length - 8 - InboxRecords.HEADER_BYTES) {
            return null;
        }
        return new Leftover(epoch, Arrays.copyOfRange(body, 8 + InboxRecords.HEADER_BYTES, length));
    }

    /**
     * Stores the attempt before its callback runs.
     *
     * @return false once closed: the callback must not run
     */
    synchronized boolean begin(ScopeKey key, long id, long epoch, int attempt) {
        if (closed) {
            return false;
        }
        byte[] record = encoder.attempt(key, id, attempt);
        byte[] body = ByteBuffer.allocate(8 + record.length).putLong(epoch).put(record).array();
        map.putInt(LENGTH_OFFSET, 0);
        if (body.length > BYTES - BODY_OFFSET) {
            // a key this large is refused by the server long before; counted by the inbox only
            return true;
        }
        map.position(BODY_OFFSET);
        map.put(body);
        crc.reset();
        crc.update(body, 0, body.length);
        map.putInt(LENGTH_OFFSET + 4, (int) crc.getValue());
        map.putInt(LENGTH_OFFSET, body.length);
        return true;
    }

    /** Clears what an earlier process left, once the inbox has counted it. */
    synchronized void clear() {
        map.putInt(LENGTH_OFFSET, 0);
    }

    /** Clears it and stores nothing more: what runs now is not counted. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            map.putInt(LENGTH_OFFSET, 0);
        }
    }

}
