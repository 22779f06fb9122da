package io.mss.bench.scenario;

import java.util.Map;

/** One workload, run the same way against every target. */
public interface Scenario {
    String name();

    /** Runs against the started target; returns its figures (numbers, lists, nested maps) for the JSON file. */
    Map<String, Object> run(Run run) throws Exception;

    /** The figures the report's table shows, with whether higher is better (for the MSS / peer ratio). */
    Map<String, Boolean> headline();

    /** Whether the throughput chart shows acknowledged pushes rather than deliveries. */
    default boolean chartsAcknowledged() {
        return false;
    }

    /** A line for the report under the scenario's table (how to read it), or null. */
    default String note() {
        return null;
    }
}
