package io.mss.bench.scenario;

/**
 * How big each scenario is. {@link #full()} follows the issue where this machine allows it: one
 * process may hold at most 20,000 open files here, so the idle scenario holds 18,000 connections.
 */
public record Sizes(int devices, int fanoutStartRate, int fanoutMaxRate, int stepSeconds, int ingestSeconds,
                    int ingestConcurrency, int batchSize, int idleConnections, int idleSeconds, int catchupOplogs, int stormPending,
                    int broadcastRounds, int payloadChars) {

    public static Sizes full() {
        return new Sizes(10_000, 500, 32_000, 5, 10, 64, 100, 18_000, 20, 10_000, 5, 3, 100);
    }

    /** About thirty seconds per target: proves the tool works, measures little. */
    public static Sizes smoke() {
        return new Sizes(200, 100, 200, 2, 3, 16, 50, 300, 3, 1_000, 2, 1, 100);
    }

    /**
     * The cluster scenario: 3,000 devices spread over the nodes, and fan-out steps starting lower (every
     * delivery on PostgreSQL goes through a commit and, across nodes, a store read).
     */
    public static Sizes cluster() {
        return full().withDevices(3_000).withFanoutRates(250, 4_000);
    }

    /** Fan-out starts at {@code start} pushes/s and tries at most {@code max} (see {@link RateSearch}). */
    public Sizes withFanoutRates(int start, int max) {
        return new Sizes(devices, start, max, stepSeconds, ingestSeconds, ingestConcurrency, batchSize, idleConnections,
                idleSeconds, catchupOplogs, stormPending, broadcastRounds, payloadChars);
    }

    public Sizes withDevices(int n) {
        return new Sizes(n, fanoutStartRate, fanoutMaxRate, stepSeconds, ingestSeconds, ingestConcurrency, batchSize, idleConnections,
                idleSeconds, catchupOplogs, stormPending, broadcastRounds, payloadChars);
    }

    public Sizes withIdleConnections(int n) {
        return new Sizes(devices, fanoutStartRate, fanoutMaxRate, stepSeconds, ingestSeconds, ingestConcurrency, batchSize, n,
                idleSeconds, catchupOplogs, stormPending, broadcastRounds, payloadChars);
    }
}
