package io.mss.protocol;

/** Protocol versions this build speaks, and how client and server agree on one. */
public final class ProtocolVersion {
    public static final int MIN = 1;
    /** Version 2: epochs in BizBatch, SyncPoint and Command; ephemeral batches. */
    public static final int MAX = 2;
    /** The first version that carries epochs. */
    public static final int EPOCHS = 2;

    private ProtocolVersion() {
    }

    /**
     * The highest version both sides speak, or -1 when the ranges do not overlap.
     * A client that leaves {@code clientMin} at 0 is treated as speaking from version 1.
     */
    public static int negotiate(int clientMin, int clientMax) {
        int low = Math.max(Math.max(clientMin, 1), MIN);
        int high = Math.min(clientMax, MAX);
        return low <= high ? high : -1;
    }
}
