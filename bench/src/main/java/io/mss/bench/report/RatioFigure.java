package io.mss.bench.report;

/**
 * One line of the report's "MSS ÷ best peer" table: a figure of one scenario ({@code path} into its
 * figures, dotted), whether higher is better, and where the scenario says whether the load generator
 * limited it ({@code generatorBoundPath}, a boolean; null when it has none).
 */
public record RatioFigure(String label, String path, boolean higherIsBetter, String generatorBoundPath) {
}
