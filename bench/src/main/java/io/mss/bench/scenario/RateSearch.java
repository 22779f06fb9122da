package io.mss.bench.scenario;

import java.util.OptionalInt;

/**
 * The search for a target's highest passing rate, the same for every target: ×2 steps from the start
 * rate until one fails (or the cap passes), then from the last passing rate up again in ×1.25 steps
 * until one fails or the next would reach the failed rate. So the rate it ends on is within 25 % of
 * the first failing one: ×2 steps alone left the real ceiling anywhere in a factor of two. When the
 * very first rate fails it halves (down to an eighth of the start) before climbing the same way.
 * Assumes a rate that fails would fail higher up too; noise can break that, and the search does not
 * go back to a rate once measured.
 */
public final class RateSearch {
    static final double COARSE = 2;
    static final double FINE = 1.25;

    private final int max;
    private final int floor;
    private int best;
    private int lowestFailed = Integer.MAX_VALUE;
    private Integer next;

    /** @param start the first rate; @param max the highest rate tried (a passing cap ends the search) */
    public RateSearch(int start, int max) {
        if (start < 1 || max < start) {
            throw new IllegalArgumentException("rates from " + start + " to " + max);
        }
        this.max = max;
        this.floor = Math.max(1, start / 8);
        this.next = start;
    }

    /** The next rate to measure, or empty when the search is over. */
    public OptionalInt next() {
        return next == null ? OptionalInt.empty() : OptionalInt.of(next);
    }

    /** Records the outcome of the rate {@link #next()} gave. */
    public void record(int rate, boolean passed) {
        if (next == null || rate != next) {
            throw new IllegalStateException("measured " + rate + "/s, the search asked for " + next());
        }
        if (passed) {
            best = Math.max(best, rate);
        } else {
            lowestFailed = Math.min(lowestFailed, rate);
        }
        next = choose();
    }

    private Integer choose() {
        if (lowestFailed == Integer.MAX_VALUE) {
            return best >= max ? null : (int) Math.min((long) max, (long) (best * COARSE));
        }
        if (best == 0) {
            int lower = lowestFailed / 2;
            return lower >= floor ? lower : null;
        }
        // the fine climb: at least 1/s more, so small rates still move
        int candidate = Math.max(best + 1, (int) Math.round(best * FINE));
        return candidate >= lowestFailed || candidate > max ? null : candidate;
    }

    /** The highest rate that passed; 0 when none did. */
    public int best() {
        return best;
    }

    /** Whether the cap itself passed: the real ceiling is somewhere above it. */
    public boolean capped() {
        return best >= max;
    }

    /** The lowest rate that failed, or -1 when none did. */
    public int lowestFailed() {
        return lowestFailed == Integer.MAX_VALUE ? -1 : lowestFailed;
    }
}
