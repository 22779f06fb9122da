package io.mss.bench.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * One figure over repeated runs: its median (the mean of the middle two for an even count), lowest and
 * highest, and how many runs measured it. The median, not the mean: one run disturbed by another build
 * on this shared machine must not move the figure.
 */
public record Spread(double median, double min, double max, int runs) {

    /** The spread of the values, or null when there are none. */
    public static Spread of(List<Double> values) {
        if (values.isEmpty()) {
            return null;
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        return new Spread(median, sorted.get(0), sorted.get(n - 1), n);
    }

    /** {@code median (min–max)}, each written by {@code format}; the median alone for one run. */
    public String describe(java.util.function.DoubleFunction<String> format) {
        return runs == 1 ? format.apply(median)
                : String.format(Locale.ROOT, "%s (%s–%s)", format.apply(median), format.apply(min), format.apply(max));
    }
}
