package io.mss.bench.scenario;

import io.mss.bench.measure.CpuUse;
import io.mss.bench.measure.Meter;
import io.mss.bench.report.RatioFigure;
import io.mss.bench.targets.Workload;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Fan-out: all devices connected, pushes to random devices at rates chosen by a {@link RateSearch}
 * (×2 steps, then ×1.25 from the last passing one). The highest rate that was delivered in full with
 * p99 under 50 ms, then the latency percentiles at half that rate. Every step reports the CPU of the
 * server and of the load generator over it.
 */
public final class Fanout implements Scenario {
    static final double P99_LIMIT_MS = 50;
    /** Pushes waiting for their acknowledgement; beyond it the generator falls behind its rate, and the step fails. */
    static final int MAX_IN_FLIGHT = 512;

    @Override
    public String name() {
        return "fanout";
    }

    @Override
    public Map<String, Boolean> headline() {
        Map<String, Boolean> m = new LinkedHashMap<>();
        m.put("maxRatePerSecond", true);
        m.put("halfRate.p50Ms", false);
        m.put("halfRate.p99Ms", false);
        m.put("halfRate.p999Ms", false);
        m.put("serverCpuPerKMsg", false);
        m.put("generatorCpuPerKMsg", null);
        m.put("ceiling.serverCpuPercent", null);
        m.put("ceiling.generatorCpuPercent", null);
        m.put("serverRssMB", false);
        m.put("search", null);
        return m;
    }

    @Override
    public List<RatioFigure> bestPeerRatios() {
        return List.of(new RatioFigure("fan-out, highest rate with p99 < 50 ms (/s)", "maxRatePerSecond", true,
                        "ceiling.generatorBound"),
                new RatioFigure("fan-out, server CPU-s per 1,000 delivered", "serverCpuPerKMsg", false,
                        "halfRate.generatorBound"));
    }

    @Override
    public Map<String, Object> run(Run run) throws Exception {
        List<String> ids = Run.deviceIds(run.sizes.devices());
        run.phase("prepare");
        run.target.prepare(Workload.INBOX, ids);
        run.phase("connect");
        long failed = run.connectAll(ids, Workload.INBOX, 256);
        // the same unmeasured warm-up for every server (a JVM's JIT needs it most), then the search
        int start = run.sizes.fanoutStartRate();
        step(run, ids, start, run.sizes.stepSeconds(), Run.WARM_UP);
        List<Map<String, Object>> steps = new ArrayList<>();
        Map<String, Object> ceiling = null;
        RateSearch search = new RateSearch(start, run.sizes.fanoutMaxRate());
        StringBuilder tried = new StringBuilder();
        for (OptionalInt rate = search.next(); rate.isPresent(); rate = search.next()) {
            Map<String, Object> step = step(run, ids, rate.getAsInt(), run.sizes.stepSeconds(), "rate " + rate.getAsInt() + "/s");
            steps.add(step);
            boolean passed = (Boolean) step.get("passed");
            search.record(rate.getAsInt(), passed);
            tried.append(tried.length() == 0 ? "" : " ").append(rate.getAsInt()).append(passed ? "✓" : "✗");
            if (passed && rate.getAsInt() == search.best()) {
                ceiling = step;
            }
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("devices", ids.size());
        result.put("connectFailures", failed);
        result.put("steps", steps);
        result.put("maxRatePerSecond", search.best());
        // the real ceiling is below the lowest failed rate (at most 1.25× the highest passed), or above the cap
        result.put("lowestFailedRate", search.lowestFailed());
        result.put("capped", search.capped());
        result.put("search", tried.toString()); // the rates in the order tried, passed or failed
        if (ceiling != null) {
            result.put("ceiling", ceiling);
        }
        // with no passing rate at all, half of the lowest that failed
        int half = Math.max(1, (search.best() > 0 ? search.best() : search.lowestFailed()) / 2);
        Map<String, Object> halfStep = step(run, ids, half, run.sizes.stepSeconds() * 2, "half rate " + half + "/s");
        long halfReceived = Math.max(1, ((Number) halfStep.get("received")).longValue());
        result.put("halfRate", halfStep);
        result.put("serverCpuPerKMsg", 1000 * (Double) halfStep.get("serverCpuSeconds") / halfReceived);
        result.put("generatorCpuPerKMsg", 1000 * (Double) halfStep.get("generatorCpuSeconds") / halfReceived);
        result.putAll(run.serverFigures());
        return result;
    }

    private static Map<String, Object> step(Run run, List<String> ids, int rate, int seconds, String label)
            throws InterruptedException {
        run.phase(label);
        CpuUse cpu = run.cpuUse();
        Meter meter = run.meter;
        meter.takeInterval();
        long receivedBefore = meter.received.sum();
        Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
        long total = (long) rate * seconds;
        long intervalNanos = TimeUnit.SECONDS.toNanos(1) / rate;
        long start = System.nanoTime();
        long sent = 0;
        long refused = 0;
        for (long i = 0; i < total; i++) {
            long due = start + i * intervalNanos;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
            if (!inFlight.tryAcquire()) {
                refused++; // the target is not keeping up with this rate
                continue;
            }
            String id = ids.get(ThreadLocalRandom.current().nextInt(ids.size()));
            meter.sent.increment();
            sent++;
            run.target.publish(id, -1, Meter.payload(run.sizes.payloadChars())).whenComplete((v, e) -> {
                inFlight.release();
                if (e == null) {
                    meter.acked.increment();
                } else {
                    meter.errors.increment();
                }
            });
        }
        long sentCount = sent;
        boolean drained = Run.await(() -> meter.received.sum() - receivedBefore >= sentCount, 3_000);
        double elapsed = (System.nanoTime() - start) / 1e9;
        Histogram latency = meter.takeInterval();
        long received = meter.received.sum() - receivedBefore;
        Map<String, Object> step = new LinkedHashMap<>(Meter.percentiles(latency));
        step.put("rate", rate);
        step.put("sent", sent);
        step.put("notSentBehind", refused);
        step.put("received", received);
        step.put("deliveredPerSecond", received / elapsed);
        boolean passed = drained && refused == 0 && latency.getValueAtPercentile(99) / 1000.0 < P99_LIMIT_MS;
        step.put("passed", passed);
        step.put("serverCpuSeconds", cpu.serverSeconds());
        step.put("generatorCpuSeconds", cpu.generatorSeconds());
        step.putAll(run.cpuFigures(cpu, label));
        return step;
    }
}
