package io.mss.bench.scenario;

import io.mss.bench.measure.Meter;
import io.mss.bench.targets.Workload;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Fan-out: all devices connected, pushes to random devices at rising rates. The highest rate that was
 * delivered in full with p99 under 50 ms, then the latency percentiles at half that rate.
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
        m.put("serverRssMB", false);
        return m;
    }

    @Override
    public Map<String, Object> run(Run run) throws Exception {
        List<String> ids = Run.deviceIds(run.sizes.devices());
        run.phase("prepare");
        run.target.prepare(Workload.INBOX, ids);
        run.phase("connect");
        long failed = run.connectAll(ids, Workload.INBOX, 256);
        // the same unmeasured warm-up for every server (a JVM's JIT needs it most), then the rising steps
        step(run, ids, run.sizes.fanoutRates().get(0), run.sizes.stepSeconds(), "warm-up");
        List<Map<String, Object>> steps = new ArrayList<>();
        int best = 0;
        for (int rate : run.sizes.fanoutRates()) {
            Map<String, Object> step = step(run, ids, rate, run.sizes.stepSeconds(), "rate " + rate + "/s");
            steps.add(step);
            if (!(Boolean) step.get("passed")) {
                break;
            }
            best = rate;
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("devices", ids.size());
        result.put("connectFailures", failed);
        result.put("steps", steps);
        result.put("maxRatePerSecond", best);
        int half = Math.max(best / 2, run.sizes.fanoutRates().get(0) / 2);
        double cpuBefore = run.server.cpuSeconds();
        Map<String, Object> halfStep = step(run, ids, half, run.sizes.stepSeconds() * 2, "half rate " + half + "/s");
        double cpu = run.server.cpuSeconds() - cpuBefore;
        result.put("halfRate", halfStep);
        result.put("serverCpuPerKMsg", 1000 * cpu / Math.max(1, ((Number) halfStep.get("received")).longValue()));
        result.putAll(run.serverFigures());
        return result;
    }

    private static Map<String, Object> step(Run run, List<String> ids, int rate, int seconds, String label)
            throws InterruptedException {
        run.phase(label);
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
        return step;
    }
}
