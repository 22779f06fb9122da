package io.mss.client.internal;

import io.mss.client.Scope;
import io.mss.client.SyncMessage;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.zip.CRC32;

/**
 * The client's local inbox: every oplog received from the server is stored here (and fsync'd)
 * before the server is acked, and stays until the app acked it or it was dropped after too
 * many delivery attempts.
 *
 * <h2>File format</h2>
 * One append-only log, {@value #FILE_NAME}, for all scopes, so that a {@code SyncData} frame
 * touching many scopes costs one write and one fsync. It starts with the 8 magic bytes
 * {@code MSSINBX1}, followed by records:
 * <pre>
 * record  = u32 bodyLength, u32 crc32(body), body          (big-endian)
 * body    = u8 type, key, fields
 * key     = u8 scope (1 USER, 2 DEVICE, 3 GLOBAL), str bizType, str owner
 * str     = u32 byteLength, UTF-8 bytes
 * MSG     (1) key, u64 id, i64 createdAt, str receivedAsUser ("" = none), str payload, u64 epoch
 * ATTEMPT (2) key, u64 id, u32 attempts      -- delivery attempts started so far
 * DONE    (3) key, u64 id, u8 reason (0 acked by the app, 1 dropped)
 * HIGH    (4) key, u64 id, u64 epoch          -- highest id ever stored in the scope's timeline
 * EPOCH   (5) key, u64 epoch                  -- the scope starts over on timeline epoch
 * </pre>
 * Replaying the records in order gives the state: MSG adds a pending message and raises the
 * scope's high-water mark, ATTEMPT sets its attempt count, DONE removes it, HIGH raises the
 * high-water mark (written by compaction, so that deduplication survives it), EPOCH drops the
 * scope's pending messages and starts its high-water mark over at 0 on the new timeline.
 *
 * <h2>Epochs</h2>
 * Ids grow only within one timeline of a scope (protocol version 2), so the high-water mark
 * belongs to the scope's epoch. The trailing {@code u64 epoch} of MSG and HIGH was added with
 * epochs: a record written before has none and reads as epoch 0 (not known), which the first
 * known epoch then takes over. A scope never mixes two known epochs: {@link #restart} first.
 *
 * <h2>Durability and crash safety</h2>
 * <ul>
 *   <li>MSG records are written with one {@code write} and then fsync'd before {@link #store}
 *       returns: only then may the server be acked.
 *   <li>ATTEMPT and DONE records are handed to the OS, which survives a crash of the app's
 *       process, but not fsync'd: stored into the memory-mapped {@link DeliveryJournal} (no
 *       system call), and taken into the log, ahead of its own records, by its next write; where
 *       the journal is full or cannot be mapped, written to the log at once. The next fsync of
 *       the log carries them. A power loss right after may lose them: the message is then
 *       delivered once more, or its attempt not counted. Opening replays the journal's records
 *       after the log's, when the journal follows the log as it was found.
 *   <li>The attempt whose callback runs, or ran last, is also in {@link RunningAttempt} (stored
 *       by the callback thread before the callback, kept until the next one), so that the callback
 *       thread may go on to a scope's next message before the state thread recorded its ATTEMPT.
 *       Opening counts what an app that died inside or right after a callback left there.
 *   <li>A torn or corrupt record (length out of range, short read, CRC mismatch, undecodable
 *       body) ends the replay: everything before it is kept, the file is rewritten from what
 *       was read. Records are never rewritten in place, so a crash during an append can only
 *       tear what that append wrote: its new messages, not fsync'd and therefore not acked to the
 *       server, and the journal's delivery records it took along, which the journal still holds
 *       (the ones the torn write left whole in the log are its prefix; the rest are replayed).
 *   <li>A failed append is cut off again ({@code truncate}); if even that fails, the file is
 *       rewritten before the next append, so that later records never follow a torn one.
 *   <li>Compaction writes the live state (HIGH per scope, then MSG and ATTEMPT per pending
 *       message) to {@value #TMP_NAME}, fsyncs it and renames it over the log: a crash leaves
 *       either the old or the new log. It runs at open when there was a torn tail, enough
 *       garbage, or journal records the log did not hold, and after a removal once the file is
 *       at least the compaction threshold and more than three quarters of it is garbage.
 * </ul>
 *
 * <p>Not thread-safe: the client's state thread owns it.
 */
public final class Inbox implements Closeable {
    public static final String FILE_NAME = "inbox.log";
    static final String TMP_NAME = FILE_NAME + ".tmp";
    public static final String CORRUPT_NAME = FILE_NAME + ".corrupt";
    /** Default size from which the log is compacted once more than three quarters of it are garbage. */
    public static final long DEFAULT_COMPACT_BYTES = 4L << 20;

    static final byte[] MAGIC = "MSSINBX1".getBytes(StandardCharsets.US_ASCII);
    /** Far above any real record (a frame is at most a few MiB): a larger length is corruption. */
    static final int MAX_RECORD_BYTES = 64 << 20;
    private static final int COMPACTION_WRITE_BYTES = 64 * 1024;

    private static final Logger LOG = Logger.getLogger("io.mss.client");

    /** One pending message and its delivery state. */
    public static final class Entry {
        private final SyncMessage message;
        private final int recordBytes;
        private int attempts;
        private String lastFailure;

        Entry(SyncMessage message, int recordBytes) {
            this.message = message;
            this.recordBytes = recordBytes;
        }

        public SyncMessage message() {
            return message;
        }

        /** Delivery attempts started so far, also by earlier processes. */
        public int attempts() {
            return attempts;
        }

        /** Why the last attempt of this process failed; null when none failed in this process. */
        public String lastFailure() {
            return lastFailure;
        }

        public void lastFailure(String reason) {
            this.lastFailure = reason;
        }
    }

    private static final class ScopeQueue {
        /** The timeline high and pending belong to; 0 while not known. */
        long epoch;
        long high;
        final TreeMap<Long, Entry> pending = new TreeMap<>();
        /** Record bytes of the pending messages: what they hold in memory, roughly. */
        long pendingBytes;
    }

    private final File dir;
    private final File file;
    private final File tmp;
    private final long compactBytes;
    private final Map<ScopeKey, ScopeQueue> scopes = new HashMap<>();
    private final InboxRecords encoder = new InboxRecords();
    private FileChannel channel;
    private long fileBytes;
    /** The CRC of the log's last record (0 for none): with {@link #fileBytes}, the log state the journal follows. */
    private int tailCrc;
    /** Where ATTEMPT and DONE records go between writes of the log; null where it cannot be mapped. */
    private DeliveryJournal journal;
    /** The attempt whose callback runs or ran last, for the callback side; null where it cannot be mapped. */
    private RunningAttempt running;
    /** While loading: the log's records after the state the journal follows, once the replay passed it. */
    private List<byte[]> loggedAfterJournalBase;
    private long liveBytes;
    /** ATTEMPT and DONE records not written yet: {@link #flushDeferred} or the next append writes them first. */
    private final List<byte[]> deferred = new ArrayList<>();
    /** Set by {@link #deferDeliveryRecords}: the owner then promises to call {@link #flushDeferred}. */
    private boolean deferDeliveryRecords;
    /** An append failed and could not be cut off: rewrite before appending again. */
    private boolean needsRewrite;
    private boolean closed;

    private Inbox(File dir, long compactBytes) {
        this.dir = dir;
        this.file = new File(dir, FILE_NAME);
        this.tmp = new File(dir, TMP_NAME);
        this.compactBytes = compactBytes;
    }

    public static Inbox open(File dir) throws IOException {
        return open(dir, DEFAULT_COMPACT_BYTES);
    }

    /**
     * Creates the directory if needed, replays the log and repairs it (drops a torn tail).
     *
     * @param compactBytes the log is compacted once it is at least this large and more than three
     *     quarters garbage
     */
    public static Inbox open(File dir, long compactBytes) throws IOException {
        if (!dir.isDirectory() && !dir.mkdirs() && !dir.isDirectory()) {
            throw new IOException("cannot create state directory " + dir);
        }
        Inbox inbox = new Inbox(dir, compactBytes);
        inbox.load();
        if (inbox.running != null) {
            // the log holds what it named now
            inbox.running.clear();
        }
        return inbox;
    }

    // ---- queries ----

    /** The highest id ever stored for the scope (0 if none): anything at or below it is a resend. */
    public long high(ScopeKey key) {
        ScopeQueue q = scopes.get(key);
        return q == null ? 0 : q.high;
    }

    /** The epoch of the scope's timeline (0 if not known): {@link #high} is an id on it. */
    public long epoch(ScopeKey key) {
        ScopeQueue q = scopes.get(key);
        return q == null ? 0 : q.epoch;
    }

    /** Every scope's known (non-zero) epoch. */
    public Map<ScopeKey, Long> epochs() {
        Map<ScopeKey, Long> out = new HashMap<>();
        for (Map.Entry<ScopeKey, ScopeQueue> e : scopes.entrySet()) {
            if (e.getValue().epoch != 0) {
                out.put(e.getKey(), e.getValue().epoch);
            }
        }
        return out;
    }

    /** Every scope's high-water mark. */
    /** Every scope the inbox's records name, high-water mark 0 (started over) included. */
    public java.util.Set<ScopeKey> scopes() {
        return new java.util.HashSet<>(scopes.keySet());
    }

    public Map<ScopeKey, Long> highs() {
        Map<ScopeKey, Long> out = new HashMap<>();
        for (Map.Entry<ScopeKey, ScopeQueue> e : scopes.entrySet()) {
            if (e.getValue().high > 0) {
                out.put(e.getKey(), e.getValue().high);
            }
        }
        return out;
    }

    /** The lowest pending message of the scope, or null. */
    public Entry head(ScopeKey key) {
        ScopeQueue q = scopes.get(key);
        if (q == null || q.pending.isEmpty()) {
            return null;
        }
        return q.pending.firstEntry().getValue();
    }

    public Entry get(ScopeKey key, long id) {
        ScopeQueue q = scopes.get(key);
        return q == null ? null : q.pending.get(id);
    }

    /**
     * Up to {@code max} pending messages of the scope after {@code id}, ascending, that no attempt
     * has been started for: they stop at the first one attempted before.
     */
    List<Entry> unattemptedAfter(ScopeKey key, long id, int max) {
        ScopeQueue q = scopes.get(key);
        if (q == null || max <= 0) {
            return Collections.emptyList();
        }
        List<Entry> out = new ArrayList<>(Math.min(max, q.pending.size()));
        for (Entry e : q.pending.tailMap(id, false).values()) {
            if (out.size() == max || e.attempts > 0) {
                break;
            }
            out.add(e);
        }
        return out;
    }

    /** Scopes with at least one pending message, sorted so that dispatch order is deterministic. */
    public List<ScopeKey> pendingScopes() {
        List<ScopeKey> out = new ArrayList<>();
        for (Map.Entry<ScopeKey, ScopeQueue> e : scopes.entrySet()) {
            if (!e.getValue().pending.isEmpty()) {
                out.add(e.getKey());
            }
        }
        out.sort((a, b) -> a.toString().compareTo(b.toString()));
        return out;
    }

    /** The pending messages of a scope, ascending. */
    public List<SyncMessage> pending(ScopeKey key) {
        ScopeQueue q = scopes.get(key);
        if (q == null) {
            return Collections.emptyList();
        }
        List<SyncMessage> out = new ArrayList<>();
        for (Entry e : q.pending.values()) {
            out.add(e.message);
        }
        return out;
    }

    /** Pending messages in the scopes {@code which} accepts. */
    public int pendingCount(java.util.function.Predicate<ScopeKey> which) {
        int n = 0;
        for (Map.Entry<ScopeKey, ScopeQueue> e : scopes.entrySet()) {
            if (!e.getValue().pending.isEmpty() && which.test(e.getKey())) {
                n += e.getValue().pending.size();
            }
        }
        return n;
    }

    /** Record bytes of the pending messages in the scopes {@code which} accepts. */
    public long pendingBytes(java.util.function.Predicate<ScopeKey> which) {
        long n = 0;
        for (Map.Entry<ScopeKey, ScopeQueue> e : scopes.entrySet()) {
            if (!e.getValue().pending.isEmpty() && which.test(e.getKey())) {
                n += e.getValue().pendingBytes;
            }
        }
        return n;
    }

    public int pendingCount() {
        int n = 0;
        for (ScopeQueue q : scopes.values()) {
            n += q.pending.size();
        }
        return n;
    }

    /** Current size of the log file in bytes. */
    public long fileBytes() {
        return fileBytes;
    }

    /**
     * Where the callback side stores the attempt whose callback runs, for the next open to count
     * should the process die inside it; null where it cannot be mapped (the state thread must then
     * count every attempt before its callback is handed over).
     */
    RunningAttempt running() {
        return running;
    }

    // ---- changes ----

    /**
     * Stores the messages above their scope's high-water mark (the others are resends), in one
     * write followed by an fsync. Messages of a scope must come in ascending id order, as the
     * server sends them. A USER message must carry its owner as {@link SyncMessage#userId()}.
     * A message of a known epoch makes a scope of unknown epoch take it; a scope already on
     * another known epoch must be {@linkplain #restart restarted} first.
     *
     * @return the scopes that got new messages; their {@link #high} is the new sync point
     * @throws IOException when the write or the fsync failed; nothing was stored then
     * @throws IllegalArgumentException for a message of another epoch than its scope's
     */
    public Set<ScopeKey> store(Collection<SyncMessage> messages) throws IOException {
        // a frame holds runs of one scope's messages: the key and its running high change per run, not per message
        Map<ScopeKey, Long> highs = new HashMap<>();
        List<ScopeKey> keys = new ArrayList<>(messages.size());
        List<SyncMessage> fresh = new ArrayList<>(messages.size());
        List<byte[]> records = new ArrayList<>(messages.size());
        ScopeKey key = null;
        long high = 0;
        long epoch = 0;
        for (SyncMessage m : messages) {
            if (key == null || !key.holds(m)) {
                if (key != null) {
                    highs.put(key, high);
                }
                key = ScopeKey.of(m);
                if (key == null) {
                    throw new IllegalArgumentException("a USER message without userId: " + m);
                }
                Long running = highs.get(key);
                high = running != null ? running : high(key);
                epoch = epoch(key);
            }
            if (m.epoch() != 0 && epoch != 0 && m.epoch() != epoch) {
                throw new IllegalArgumentException(m + " is not on the scope's epoch " + epoch + ": restart it first");
            }
            if (m.id() <= high) {
                continue;
            }
            high = m.id();
            keys.add(key);
            fresh.add(m);
            records.add(encoder.msg(key, m));
        }
        if (fresh.isEmpty()) {
            return Collections.emptySet();
        }
        append(records, true);
        Set<ScopeKey> touched = new LinkedHashSet<>();
        ScopeKey last = null;
        ScopeQueue q = null;
        for (int i = 0; i < fresh.size(); i++) {
            if (keys.get(i) != last) {
                last = keys.get(i);
                q = queue(last);
                touched.add(last);
            }
            SyncMessage m = fresh.get(i);
            int bytes = records.get(i).length;
            q.high = Math.max(q.high, m.id());
            if (q.epoch == 0) {
                q.epoch = m.epoch();
            }
            q.pending.put(m.id(), new Entry(m, bytes));
            q.pendingBytes += bytes;
            liveBytes += bytes;
        }
        return touched;
    }

    /**
     * Sets the attempt count of a pending message (in memory even when the write fails). Handed
     * to the OS but not fsync'd (see {@link #flushDeferred}): it must survive the app's process
     * dying inside the callback, which the OS guarantees once it holds the record.
     */
    public void recordAttempt(ScopeKey key, long id, int attempts) throws IOException {
        Entry e = get(key, id);
        if (e == null) {
            return;
        }
        e.attempts = attempts;
        deferred.add(encoder.attempt(key, id, attempts));
        if (!deferDeliveryRecords) {
            flushDeferred();
        }
    }

    /**
     * Removes a pending message: acked by the app, or dropped. In memory even when the write
     * fails (the message then comes back after a restart: at least once).
     *
     * @return whether it was pending
     */
    public boolean remove(ScopeKey key, long id, boolean dropped) throws IOException {
        ScopeQueue q = scopes.get(key);
        Entry e = q == null ? null : q.pending.remove(id);
        if (e == null) {
            return false;
        }
        liveBytes -= e.recordBytes;
        q.pendingBytes -= e.recordBytes;
        deferred.add(encoder.done(key, id, dropped));
        if (!deferDeliveryRecords) {
            flushDeferred();
        }
        if (worthCompacting(fileBytes)) {
            compact();
        }
        return true;
    }

    /**
     * Starts the scope over on timeline {@code epoch}: its pending messages are dropped (they
     * belong to a timeline the server no longer has) and its high-water mark is 0, so that the
     * new timeline's ids, however low, are stored. Fsync'd before it returns: a restarted app must
     * not dispatch the old messages, nor drop the new ones as resends.
     *
     * @return the messages that were pending, ascending
     * @throws IOException when the write or the fsync failed; nothing changed then
     */
    public List<SyncMessage> restart(ScopeKey key, long epoch) throws IOException {
        append(Collections.singletonList(encoder.epoch(key, epoch)), true);
        ScopeQueue q = queue(key);
        List<SyncMessage> dropped = new ArrayList<>();
        for (Entry e : q.pending.values()) {
            dropped.add(e.message);
        }
        startOver(q, epoch);
        if (worthCompacting(fileBytes)) {
            compact();
        }
        return dropped;
    }

    private void startOver(ScopeQueue q, long epoch) {
        for (Entry e : q.pending.values()) {
            liveBytes -= e.recordBytes;
        }
        q.pending.clear();
        q.pendingBytes = 0;
        q.high = 0;
        q.epoch = epoch;
    }

    /**
     * From now on {@link #recordAttempt} and {@link #remove} only buffer their records, and the
     * caller writes them with {@link #flushDeferred}, e.g. once per batch of work: one write
     * instead of one per call. The caller must flush before anything that relies on them
     * surviving the process (the client: before the callbacks of the same task can run).
     */
    public void deferDeliveryRecords() {
        deferDeliveryRecords = true;
    }

    /**
     * Hands the ATTEMPT and DONE records of {@link #recordAttempt} and {@link #remove} to the OS,
     * not fsync'd: into the {@link DeliveryJournal} (no system call), or where it is full or
     * missing, in one write to the log. Until then they are in memory only; the client calls this
     * at the end of each state-thread task, before the callbacks that task queued can run.
     */
    public void flushDeferred() throws IOException {
        if (deferred.isEmpty() || closed) {
            return;
        }
        if (journal != null && channel != null && !needsRewrite) {
            int stored = 0;
            while (stored < deferred.size() && journal.add(deferred.get(stored))) {
                stored++;
            }
            deferred.subList(0, stored).clear();
            if (deferred.isEmpty()) {
                return;
            }
        }
        // the journal is full: the log takes its records and these along
        append(Collections.<byte[]>emptyList(), false);
    }

    /** Writes what is deferred, forces what was written to disk and closes the file. Later changes stay in memory only. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        try {
            // what is deferred and what the journal holds into the log, so that the next open
            // finds an empty journal and need not compact
            if (!deferred.isEmpty() || (journal != null && !journal.isEmpty())) {
                append(Collections.<byte[]>emptyList(), false);
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot write the last delivery records of the inbox", e);
        }
        closed = true;
        FileChannel ch = channel;
        channel = null;
        try {
            if (ch != null) {
                try {
                    ch.force(true);
                } finally {
                    ch.close();
                }
            }
        } finally {
            if (running != null) {
                running.close();
            }
            if (journal != null) {
                journal.close();
            }
        }
    }

    private ScopeQueue queue(ScopeKey key) {
        ScopeQueue q = scopes.get(key);
        if (q == null) {
            q = new ScopeQueue();
            scopes.put(key, q);
        }
        return q;
    }

    private void append(List<byte[]> records, boolean sync) throws IOException {
        if (closed) {
            throw new IOException("the inbox is closed");
        }
        if (needsRewrite || channel == null) {
            compact();
        }
        if (!deferred.isEmpty() || (journal != null && !journal.isEmpty())) {
            // in the order they happened, ahead of what comes now: the journal's, then the deferred
            List<byte[]> all = new ArrayList<>();
            if (journal != null) {
                all.addAll(journal.records());
            }
            all.addAll(deferred);
            all.addAll(records);
            records = all;
        }
        int total = 0;
        for (byte[] r : records) {
            total += r.length;
        }
        ByteBuffer buf = ByteBuffer.allocate(total);
        for (byte[] r : records) {
            buf.put(r);
        }
        buf.flip();
        long before = fileBytes;
        try {
            while (buf.hasRemaining()) {
                channel.write(buf, before + buf.position());
            }
            if (sync) {
                channel.force(true);
            }
        } catch (IOException e) {
            try {
                channel.truncate(before);
                channel.force(true);
            } catch (IOException | RuntimeException again) {
                needsRewrite = true;
            }
            throw e;
        }
        fileBytes = before + total;
        deferred.clear();
        if (!records.isEmpty()) {
            tailCrc = DeliveryJournal.crcOf(records.get(records.size() - 1));
        }
        if (journal != null) {
            journal.startOver(fileBytes, tailCrc);
        }
    }

    /**
     * The log is at least the compaction threshold and more than three quarters of it garbage.
     * A compaction writes the live state again, which during a catch-up is the whole read-ahead
     * window: at half garbage that was one more encoding and write per message appended.
     */
    private boolean worthCompacting(long size) {
        return size >= compactBytes && liveBytes * 4 < size;
    }

    /** Replaces the log with the live state: temp file, fsync, rename, fsync of the directory. */
    void compact() throws IOException {
        List<byte[]> records = new ArrayList<>();
        List<ScopeKey> keys = new ArrayList<>(scopes.keySet());
        keys.sort((a, b) -> a.toString().compareTo(b.toString()));
        long live = 0;
        for (ScopeKey key : keys) {
            ScopeQueue q = scopes.get(key);
            if (q.high > 0 || q.epoch != 0) {
                records.add(encoder.high(key, q.high, q.epoch));
            }
        }
        for (ScopeKey key : keys) {
            for (Entry e : scopes.get(key).pending.values()) {
                records.add(encoder.msg(key, e.message));
                live += e.recordBytes;
                if (e.attempts > 0) {
                    records.add(encoder.attempt(key, e.message.id(), e.attempts));
                }
            }
        }
        long size = MAGIC.length;
        try (FileChannel out = DurableFiles.openForWrite(tmp, true)) {
            // staged into large writes: a system call per record costs more than encoding it
            ByteBuffer staged = ByteBuffer.allocate(COMPACTION_WRITE_BYTES);
            staged.put(MAGIC);
            for (byte[] r : records) {
                if (r.length > staged.remaining()) {
                    staged.flip();
                    writeFully(out, staged);
                    staged.clear();
                }
                if (r.length > staged.remaining()) {
                    writeFully(out, ByteBuffer.wrap(r));
                } else {
                    staged.put(r);
                }
                size += r.length;
            }
            staged.flip();
            writeFully(out, staged);
            out.force(true);
        }
        // closed first: some platforms refuse to rename over an open file
        if (channel != null) {
            channel.close();
            channel = null;
        }
        try {
            DurableFiles.replace(tmp, file);
        } finally {
            channel = DurableFiles.openForWrite(file, false);
        }
        DurableFiles.syncDirectory(dir);
        fileBytes = size;
        tailCrc = records.isEmpty() ? 0 : DeliveryJournal.crcOf(records.get(records.size() - 1));
        liveBytes = live;
        needsRewrite = false;
        // the live state written above already holds what they record
        deferred.clear();
        if (journal != null) {
            journal.startOver(fileBytes, tailCrc);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    // ---- loading ----

    private void load() throws IOException {
        try {
            journal = DeliveryJournal.open(dir, DeliveryJournal.DEFAULT_BYTES);
        } catch (IOException | RuntimeException e) {
            // every delivery record then costs a write to the log, as it did before the journal
            LOG.log(Level.WARNING, "cannot map the inbox's delivery journal in " + dir
                    + "; writing delivery records to the log instead", e);
            journal = null;
        }
        try {
            running = RunningAttempt.open(dir);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "cannot map " + RunningAttempt.FILE_NAME + " in " + dir
                    + "; every attempt is counted in the inbox before its callback", e);
            running = null;
        }
        // a compaction that crashed before its rename: the log itself is intact
        DurableFiles.recover(tmp, file);
        if (!file.exists()) {
            compact();
            return;
        }
        long size = file.length();
        long validEnd;
        try (InputStream raw = new FileInputStream(file)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 64 * 1024));
            byte[] magic = new byte[MAGIC.length];
            if (size < MAGIC.length || !readMagic(in, magic) || !Arrays.equals(magic, MAGIC)) {
                // never written by us (a new log is created by rename, complete): keep it for a human
                File aside = new File(dir, CORRUPT_NAME);
                LOG.severe("unrecognized " + file + ", moving it to " + aside + " and starting with an empty inbox");
                raw.close();
                DurableFiles.replace(file, aside);
                compact();
                return;
            }
            validEnd = replay(in, size);
        }
        fileBytes = size;
        // the delivery records the previous process stored that the log does not hold
        List<byte[]> journaled = journal == null || loggedAfterJournalBase == null ? Collections.<byte[]>emptyList()
                : journal.recordsNotIn(loggedAfterJournalBase);
        loggedAfterJournalBase = null;
        for (byte[] record : journaled) {
            try {
                apply(Arrays.copyOfRange(record, InboxRecords.HEADER_BYTES, record.length), record.length);
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.FINE, "undecodable inbox journal record; the journal ends before it", e);
                break;
            }
        }
        boolean diedInCallback = countLeftoverAttempt();
        if (validEnd < size) {
            LOG.warning("inbox " + file + ": ignoring " + (size - validEnd) + " bytes of a torn or corrupt record at offset "
                    + validEnd + "; everything before it is kept");
            compact();
        } else if (!journaled.isEmpty() || diedInCallback || worthCompacting(size)) {
            // the journal's records into the log: the journal then starts over from it
            compact();
        } else {
            channel = DurableFiles.openForWrite(file, false);
            if (journal != null) {
                journal.startOver(fileBytes, tailCrc);
            }
        }
    }

    /**
     * Counts the attempt an earlier process died in ({@link RunningAttempt}): the message's attempts
     * become at least that one's, when it is still pending on the same timeline. The compaction
     * that follows writes the count into the log; the leftover is cleared when the log holds it.
     *
     * @return whether a count was raised
     */
    private boolean countLeftoverAttempt() throws IOException {
        RunningAttempt.Leftover left = running == null ? null : running.leftover();
        if (left == null) {
            return false;
        }
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(left.body));
        ScopeKey key;
        long id;
        int attempts;
        try {
            if (in.readByte() != InboxRecords.ATTEMPT) {
                return false;
            }
            key = readKey(in);
            id = in.readLong();
            attempts = in.readInt();
        } catch (IOException e) {
            LOG.log(Level.FINE, "undecodable " + RunningAttempt.FILE_NAME + "; ignored", e);
            return false;
        }
        Entry e = get(key, id);
        if (e == null || e.message.epoch() != left.epoch || e.attempts >= attempts) {
            return false;
        }
        LOG.info("the app stopped inside the callback of " + e.message + ", attempt " + attempts + "; counted");
        e.attempts = attempts;
        return true;
    }

    private static boolean readMagic(DataInputStream in, byte[] magic) throws IOException {
        try {
            in.readFully(magic);
            return true;
        } catch (EOFException e) {
            return false;
        }
    }

    /**
     * @return the offset after the last good record; sets {@link #loggedAfterJournalBase} when the
     *     log passes the state the journal follows
     */
    private long replay(DataInputStream in, long size) throws IOException {
        long offset = MAGIC.length;
        CRC32 crc = new CRC32();
        long journalBase = journal == null ? -1 : journal.followsLogBytes();
        int journalBaseCrc = journal == null ? 0 : journal.followsLogTailCrc();
        loggedAfterJournalBase = offset == journalBase && journalBaseCrc == 0 ? new ArrayList<byte[]>() : null;
        while (true) {
            long remaining = size - offset;
            if (remaining == 0) {
                return offset;
            }
            if (remaining < InboxRecords.HEADER_BYTES) {
                return offset;
            }
            int length = in.readInt();
            int expectedCrc = in.readInt();
            if (length <= 0 || length > MAX_RECORD_BYTES || length > remaining - InboxRecords.HEADER_BYTES) {
                return offset;
            }
            byte[] body = new byte[length];
            try {
                in.readFully(body);
            } catch (EOFException e) {
                // the file shrank while we read it: whatever is missing is not there
                return offset;
            }
            crc.reset();
            crc.update(body, 0, length);
            if ((int) crc.getValue() != expectedCrc) {
                return offset;
            }
            try {
                apply(body, InboxRecords.HEADER_BYTES + length);
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.FINE, "undecodable inbox record at offset " + offset, e);
                return offset;
            }
            if (loggedAfterJournalBase != null) {
                // whole records of a write after the journal's state: which of its records they are
                loggedAfterJournalBase.add(ByteBuffer.allocate(InboxRecords.HEADER_BYTES + length)
                        .putInt(length).putInt(expectedCrc).put(body).array());
            }
            tailCrc = expectedCrc;
            offset += InboxRecords.HEADER_BYTES + length;
            if (loggedAfterJournalBase == null && offset == journalBase && expectedCrc == journalBaseCrc) {
                loggedAfterJournalBase = new ArrayList<>();
            }
        }
    }

    private void apply(byte[] body, int recordBytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(body));
        byte type = in.readByte();
        ScopeKey key = readKey(in);
        long id = in.readLong();
        ScopeQueue q;
        switch (type) {
            case InboxRecords.MSG: {
                long createdAt = in.readLong();
                String receivedAs = readString(in);
                String payload = readString(in);
                long epoch = readEpoch(in);
                SyncMessage m = SyncMessage.builder()
                        .bizType(key.bizType())
                        .scope(key.scope())
                        .id(id)
                        .epoch(epoch)
                        .createdAt(createdAt)
                        .userId(receivedAs.isEmpty() ? null : receivedAs)
                        .payload(payload)
                        .build();
                q = queueOnEpoch(key, epoch);
                q.high = Math.max(q.high, id);
                if (!q.pending.containsKey(id)) {
                    q.pending.put(id, new Entry(m, recordBytes));
                    q.pendingBytes += recordBytes;
                    liveBytes += recordBytes;
                }
                break;
            }
            case InboxRecords.ATTEMPT: {
                int attempts = in.readInt();
                Entry e = get(key, id);
                if (e != null) {
                    e.attempts = attempts;
                }
                break;
            }
            case InboxRecords.DONE: {
                in.readByte();
                q = scopes.get(key);
                Entry e = q == null ? null : q.pending.remove(id);
                if (e != null) {
                    liveBytes -= e.recordBytes;
                    q.pendingBytes -= e.recordBytes;
                }
                break;
            }
            case InboxRecords.HIGH:
                q = queueOnEpoch(key, readEpoch(in));
                q.high = Math.max(q.high, id);
                break;
            case InboxRecords.EPOCH:
                startOver(queue(key), id);
                break;
            default:
                throw new IOException("unknown inbox record type " + type);
        }
    }

    /** The trailing epoch of MSG and HIGH; records written before epochs existed have none. */
    private static long readEpoch(DataInputStream in) throws IOException {
        return in.available() >= 8 ? in.readLong() : 0;
    }

    /**
     * The scope's queue, on timeline {@code epoch} when that is known. The client writes EPOCH
     * before any record of a new timeline, so two known epochs only meet here in a log that
     * lost its EPOCH record; the later timeline wins, as it would have.
     */
    private ScopeQueue queueOnEpoch(ScopeKey key, long epoch) {
        ScopeQueue q = queue(key);
        if (epoch != 0 && q.epoch != 0 && epoch != q.epoch) {
            startOver(q, epoch);
        } else if (q.epoch == 0) {
            q.epoch = epoch;
        }
        return q;
    }

    // ---- decoding ----

    private static ScopeKey readKey(DataInputStream in) throws IOException {
        byte kind = in.readByte();
        Scope scope = InboxRecords.scopeOf(kind);
        if (scope == null) {
            throw new IOException("unknown scope " + kind);
        }
        String bizType = readString(in);
        String owner = readString(in);
        return new ScopeKey(bizType, scope, owner);
    }

    private static String readString(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0 || length > in.available()) {
            throw new IOException("string length out of range: " + length);
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
