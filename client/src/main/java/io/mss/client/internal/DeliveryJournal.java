package io.mss.client.internal;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The inbox's ATTEMPT and DONE records written since its log was last written, kept in a
 * memory-mapped file ({@value #FILE_NAME}). An attempt must reach the operating system before its
 * callback runs, so that an app dying inside the callback finds it counted; storing a record here
 * is a copy into the page cache, which outlives the process, where a write to the log is a system
 * call per state-thread task (with one scope to deliver, one per message). The next write to the
 * log takes these records along, in front of its own, and the journal starts over.
 *
 * <p>Format: the magic {@code MSSJRNL1}, then u64 the log's length and u32 the CRC of the log's
 * last record when this journal's records began (the log they follow), u32 the generation (one
 * more at every start-over); then entries, each u32 generation and a record exactly as in the
 * log, up to the first that is not whole or not of this generation. Before an entry is stored,
 * the header after it is zeroed, so that after a crash of the process what an earlier generation
 * left behind never reads as following the current entries; the generation does the same after
 * a power loss, which may write the pages of the mapping to disk in any order. Of a journal
 * naming a log state the inbox's log went past, only the records a torn write of the log did not
 * leave whole there count ({@link #recordsNotIn}); one naming another state holds nothing.
 *
 * <p>Like the log's ATTEMPT and DONE records, these are not forced to disk one by one: a power
 * loss may lose the latest, a crash of the app's process does not. Not thread-safe: the inbox's
 * owner, the client's state thread.
 */
final class DeliveryJournal implements Closeable {
    static final String FILE_NAME = "inbox.journal";
    /** Room for ~30,000 ATTEMPT and DONE entries: the log takes them along at every store anyway. */
    static final int DEFAULT_BYTES = 2 << 20;

    private static final byte[] MAGIC = "MSSJRNL1".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER_BYTES = MAGIC.length + 8 + 4 + 4;
    private static final int GENERATION_OFFSET = MAGIC.length + 12;
    /** Each entry's generation, then its record's length and CRC: zeroed after every entry. */
    private static final int ENTRY_HEADER_BYTES = 4 + InboxRecords.HEADER_BYTES;

    private final MappedByteBuffer map;
    /** The records stored since the last {@link #startOver}, in order; a copy of what the map holds. */
    private final List<byte[]> records = new ArrayList<>();
    /** Where the next record goes. */
    private int end = HEADER_BYTES;
    private long logBytes = -1;
    private int logTailCrc;
    private int generation;

    private DeliveryJournal(MappedByteBuffer map) {
        this.map = map;
    }

    /**
     * Maps the journal, creating it at {@code bytes} when it is missing or smaller. Its blocks
     * are written (zeros) and forced first, not left sparse: a store into a mapped page with no
     * disk block behind it, on a full disk, kills the process (SIGBUS) instead of failing here.
     */
    static DeliveryJournal open(File dir, int bytes) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(new File(dir, FILE_NAME), "rw")) {
            long length = file.length();
            if (length < bytes) {
                FileChannel channel = file.getChannel();
                ByteBuffer zeros = ByteBuffer.allocate(64 * 1024);
                for (long at = length; at < bytes; at += zeros.capacity()) {
                    zeros.clear().limit((int) Math.min(zeros.capacity(), bytes - at));
                    while (zeros.hasRemaining()) {
                        channel.write(zeros, at + zeros.position());
                    }
                }
                channel.force(true);
            }
            // the mapping stays valid after the file is closed
            MappedByteBuffer map = file.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, bytes);
            DeliveryJournal journal = new DeliveryJournal(map);
            journal.read();
            return journal;
        }
    }

    /** What an earlier process left: its records and the log state they follow. */
    private void read() {
        byte[] magic = new byte[MAGIC.length];
        map.position(0);
        map.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            return; // new, or never started over: holds nothing
        }
        logBytes = map.getLong(MAGIC.length);
        logTailCrc = map.getInt(MAGIC.length + 8);
        generation = map.getInt(GENERATION_OFFSET);
        CRC32 crc = new CRC32();
        int offset = HEADER_BYTES;
        while (offset + ENTRY_HEADER_BYTES <= map.capacity() && map.getInt(offset) == generation) {
            int length = map.getInt(offset + 4);
            int expected = map.getInt(offset + 8);
            if (length <= 0 || length > map.capacity() - offset - ENTRY_HEADER_BYTES) {
                break;
            }
            byte[] record = new byte[InboxRecords.HEADER_BYTES + length];
            map.position(offset + 4);
            map.get(record);
            crc.reset();
            crc.update(record, InboxRecords.HEADER_BYTES, length);
            if ((int) crc.getValue() != expected) {
                break;
            }
            records.add(record);
            offset += 4 + record.length;
        }
        end = offset;
    }

    /** The length of the log these records follow; -1 when the journal names none. */
    long followsLogBytes() {
        return logBytes;
    }

    /** The CRC of the last record of the log these records follow (0: the log had none). */
    int followsLogTailCrc() {
        return logTailCrc;
    }

    /**
     * The records an earlier process stored that the log does not hold. {@code logged} are the
     * log's whole records after the state this journal follows: a write of the log that the
     * process did not finish takes the journal's records first, and may have stopped anywhere
     * in them (a short write when the process was killed), so what it left whole is a prefix of
     * them and the rest is still only here. A log that holds all of them, or other records, holds
     * nothing of this journal's that is missing.
     */
    List<byte[]> recordsNotIn(List<byte[]> logged) {
        if (logged.size() >= records.size()) {
            return Collections.emptyList();
        }
        for (int i = 0; i < logged.size(); i++) {
            if (!Arrays.equals(logged.get(i), records.get(i))) {
                return Collections.emptyList();
            }
        }
        return new ArrayList<>(records.subList(logged.size(), records.size()));
    }

    /** The records stored since the journal last started over, in order. */
    List<byte[]> records() {
        return Collections.unmodifiableList(records);
    }

    boolean isEmpty() {
        return records.isEmpty();
    }

    /** @return false, storing nothing, when the journal has no room for it */
    boolean add(byte[] record) {
        int next = end + 4 + record.length;
        if (next + ENTRY_HEADER_BYTES > map.capacity()) {
            return false;
        }
        // the header after it first: never an earlier generation's entry behind this one
        map.putInt(next, 0);
        map.putLong(next + 4, 0L);
        map.putInt(end, generation);
        map.position(end + 4);
        map.put(record);
        end = next;
        records.add(record);
        return true;
    }

    /**
     * Empty, following the log as it is now ({@code logLength} bytes, its last record's CRC):
     * the log holds everything the journal did. The first record's header is zeroed before the
     * new log state is named, so that a crash in between leaves an empty journal.
     */
    void startOver(long logLength, int tailCrc) {
        map.putInt(HEADER_BYTES, 0);
        map.putLong(HEADER_BYTES + 4, 0L);
        generation++;
        map.position(0);
        map.put(MAGIC);
        map.putLong(MAGIC.length, logLength);
        map.putInt(MAGIC.length + 8, tailCrc);
        map.putInt(GENERATION_OFFSET, generation);
        records.clear();
        end = HEADER_BYTES;
        logBytes = logLength;
        logTailCrc = tailCrc;
    }

    /** The CRC field of a record, as {@link #startOver} names a log's last record. */
    static int crcOf(byte[] record) {
        return ByteBuffer.wrap(record).getInt(4);
    }

    /** Forces the journal to disk, as a clean stop does with the log; a failure is only logged. */
    @Override
    public void close() {
        try {
            map.force();
        } catch (RuntimeException e) {
            // newer JDKs report an I/O error of force() unchecked; the records are in the log or the page cache
            java.util.logging.Logger.getLogger("io.mss.client").log(java.util.logging.Level.FINE,
                    "cannot force the inbox's delivery journal", e);
        }
    }
}
