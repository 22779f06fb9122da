package io.mss.server.sync;

/**
 * The room left in one SyncData frame a session's drain fills: at most {@code maxOplogs}
 * oplogs, and about {@code maxBytes} bytes by {@link WireFrames#estimatedBytes} (the first
 * oplog always fits, whatever its size, so a large one is still sent).
 *
 * <p>Threading: one per frame being built, on the session's event loop; never shared.
 */
final class FrameBudget {
    private final int maxOplogs;
    private final int maxBytes;
    private int count;
    private long bytes;

    FrameBudget(int maxOplogs, int maxBytes) {
        this.maxOplogs = maxOplogs;
        this.maxBytes = maxBytes;
    }

    /** The oplogs one of {@code readable} cursors may put into a frame: the frame's room divided among them. */
    static int shareOf(int maxOplogs, int readable) {
        // rounded down: rounded up, the first cursors' shares would leave the last ones no room
        return readable <= 1 ? maxOplogs : Math.max(1, maxOplogs / readable);
    }

    /** How many oplogs a cursor whose share is {@code share} may still read into the frame; 0: it is full. */
    int room(int share) {
        if (bytes >= maxBytes) {
            return 0;
        }
        return Math.min(share, maxOplogs - count);
    }

    /** Whether an oplog of {@code size} estimated bytes still fits. */
    boolean fits(long size) {
        return count == 0 || bytes + size <= maxBytes;
    }

    void add(long size) {
        count++;
        bytes += size;
    }
}
