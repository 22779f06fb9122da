package io.mss.bench.scenario;

import java.util.List;

/**
 * How big each scenario is. {@link #full()} follows the issue where this machine allows it: one
 * process may hold at most 20,000 open files here, so the idle scenario holds 18,000 connections.
 */
public record Sizes(int devices, List<Integer> fanoutRates, int stepSeconds, int ingestSeconds, int ingestConcurrency,
                    int batchSize, int idleConnections, int idleSeconds, int catchupOplogs, int stormPending,
                    int broadcastRounds, int payloadChars) {

    public static Sizes full() {
        return new Sizes(10_000, List.of(500, 1_000, 2_000, 4_000, 8_000, 16_000), 5, 10, 64, 100,
                18_000, 20, 10_000, 5, 3, 100);
    }

    /** About thirty seconds per target: proves the tool works, measures little. */
    public static Sizes smoke() {
        return new Sizes(200, List.of(100, 200), 2, 3, 16, 50, 300, 3, 1_000, 2, 1, 100);
    }

    /**
     * The cluster scenario: 3,000 devices spread over the nodes, and fan-out steps starting lower (every
     * delivery on PostgreSQL goes through a commit and, across nodes, a store read).
     */
    public static Sizes cluster() {
        return full().withDevices(3_000).withFanoutRates(List.of(250, 500, 1_000, 2_000, 4_000));
    }

    public Sizes withFanoutRates(List<Integer> rates) {
        return new Sizes(devices, rates, stepSeconds, ingestSeconds, ingestConcurrency, batchSize, idleConnections,
                idleSeconds, catchupOplogs, stormPending, broadcastRounds, payloadChars);
    }

    public Sizes withDevices(int n) {
        return new Sizes(n, fanoutRates, stepSeconds, ingestSeconds, ingestConcurrency, batchSize, idleConnections,
                idleSeconds, catchupOplogs, stormPending, broadcastRounds, payloadChars);
    }

    public Sizes withIdleConnections(int n) {
        return new Sizes(devices, fanoutRates, stepSeconds, ingestSeconds, ingestConcurrency, batchSize, n,
                idleSeconds, catchupOplogs, stormPending, broadcastRounds, payloadChars);
    }
}
