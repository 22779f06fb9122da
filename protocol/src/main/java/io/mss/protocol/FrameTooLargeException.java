package io.mss.protocol;

import java.io.IOException;

/** A peer announced a frame larger than the cap; the connection must be closed. */
public final class FrameTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    private final long announced;
    private final int max;

    public FrameTooLargeException(long announced, int max) {
        super("frame of " + announced + " bytes exceeds the cap of " + max + " bytes");
        this.announced = announced;
        this.max = max;
    }

    public long announced() {
        return announced;
    }

    public int max() {
        return max;
    }
}
