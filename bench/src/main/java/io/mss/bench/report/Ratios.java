package io.mss.bench.report;

import java.util.Map;

/**
 * Ratios of one run: MSS (the {@code mss} target, fsync on) divided by a peer, or by the best peer of the
 * run for a figure. Always computed within one run, so MSS and its peers met the same machine; repeated
 * runs give a median of these ratios, never a ratio of medians.
 */
public final class Ratios {
    public static final String MSS = "mss";

    private Ratios() {
    }

    /** A peer: a target that is not MSS in any configuration. */
    public static boolean isPeer(String target) {
        return !target.startsWith(MSS);
    }

    /** MSS's figure divided by the peer's, or null when either is missing (not measured, -1, or a zero divisor). */
    public static Double ratio(Map<String, Map<String, Object>> byTarget, String peer, String path) {
        Double mss = figure(byTarget.get(MSS), path);
        Double other = figure(byTarget.get(peer), path);
        return mss == null || other == null || other == 0 ? null : mss / other;
    }

    /** The best of the peers on this figure in this run, or null when no peer measured it. */
    public static BestPeer bestPeer(Map<String, Map<String, Object>> byTarget, String path, boolean higherIsBetter) {
        String best = null;
        double bestValue = 0;
        for (var entry : byTarget.entrySet()) {
            Double value = isPeer(entry.getKey()) ? figure(entry.getValue(), path) : null;
            if (value != null && (best == null || (higherIsBetter ? value > bestValue : value < bestValue))) {
                best = entry.getKey();
                bestValue = value;
            }
        }
        if (best == null) {
            return null;
        }
        Double mss = figure(byTarget.get(MSS), path);
        return new BestPeer(best, bestValue, mss, mss == null || bestValue == 0 ? null : mss / bestValue);
    }

    /** The peer with the best figure, its value, MSS's value and MSS ÷ peer (null when MSS has none). */
    public record BestPeer(String peer, double value, Double mss, Double ratio) {
    }

    /** A measured figure of a target, or null: the target failed, was not measured, or wrote -1 (not counted). */
    static Double figure(Map<String, Object> figures, String path) {
        if (figures == null || figures.get("error") != null) {
            return null;
        }
        return value(figures, path) instanceof Number n && n.doubleValue() >= 0 ? n.doubleValue() : null;
    }

    /** A dotted path into nested maps: {@code halfRate.p99Ms}. */
    @SuppressWarnings("unchecked")
    static Object value(Map<String, Object> figures, String path) {
        Object current = figures;
        for (String part : path.split("\\.")) {
            if (!(current instanceof Map<?, ?> map)) {
                return null;
            }
            current = ((Map<String, Object>) map).get(part);
        }
        return current;
    }
}
