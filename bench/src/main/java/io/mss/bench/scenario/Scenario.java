package io.mss.bench.scenario;

import io.mss.bench.report.RatioFigure;

import java.util.List;
import java.util.Map;

/** One workload, run the same way against every target. */
public interface Scenario {
    String name();

    /** Runs against the started target; returns its figures (numbers, lists, nested maps) for the JSON file. */
    Map<String, Object> run(Run run) throws Exception;

    /**
     * The figures the report's table shows, with whether higher is better (for the MSS / peer ratio);
     * null for a figure shown without a ratio (the load generator's own CPU).
     */
    Map<String, Boolean> headline();

    /** This scenario's lines in the report's "MSS ÷ best peer" table. */
    default List<RatioFigure> bestPeerRatios() {
        return List.of();
    }

    /** Whether the throughput chart shows acknowledged pushes rather than deliveries. */
    default boolean chartsAcknowledged() {
        return false;
    }

    /** A line for the report under the scenario's table (how to read it), or null. */
    default String note() {
        return null;
    }
}
