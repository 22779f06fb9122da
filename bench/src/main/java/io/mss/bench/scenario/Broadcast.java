package io.mss.bench.scenario;

import io.mss.bench.measure.Meter;
import io.mss.bench.measure.CpuUse;
import io.mss.bench.report.RatioFigure;
import io.mss.bench.targets.Workload;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Global broadcast: one push to every connected device; the time until the last one has it. */
public final class Broadcast implements Scenario {

    @Override
    public String name() {
        return "broadcast";
    }

    @Override
    public Map<String, Boolean> headline() {
        Map<String, Boolean> m = new LinkedHashMap<>();
        m.put("lastDeliveryMs", false);
        m.put("p50Ms", false);
        m.put("p99Ms", false);
        m.put("rounds.serverCpuPercent", false);
        m.put("rounds.generatorCpuPercent", null);
        m.put("serverRssMB", false);
        m.put("deviceWireBytes", false);
        return m;
    }

    @Override
    public List<RatioFigure> bestPeerRatios() {
        return List.of(new RatioFigure("broadcast to every device, last delivery (ms)", "lastDeliveryMs", false,
                "rounds.generatorBound"));
    }

    @Override
    public Map<String, Object> run(Run run) throws Exception {
        List<String> ids = Run.deviceIds(run.sizes.devices());
        run.phase("prepare");
        run.target.prepare(Workload.BROADCAST, ids);
        run.phase("connect");
        long failed = run.connectAll(ids, Workload.BROADCAST, 256);
        long connected = ids.size() - failed;
        List<Double> rounds = new ArrayList<>();
        boolean complete = true;
        run.meter.takeInterval();
        Histogram all = new Histogram(TimeUnit.SECONDS.toMicros(120), 3);
        CpuUse cpu = run.cpuUse();
        for (int round = 0; round < run.sizes.broadcastRounds(); round++) {
            run.phase("round " + (round + 1));
            long before = run.meter.received.sum();
            long start = System.nanoTime();
            run.meter.sent.increment();
            run.target.broadcast(Meter.payload(run.sizes.payloadChars())).thenRun(run.meter.acked::increment);
            complete &= Run.await(() -> run.meter.received.sum() - before >= connected, 120_000);
            rounds.add((System.nanoTime() - start) / 1e6);
            all.add(run.meter.takeInterval());
            TimeUnit.MILLISECONDS.sleep(500); // let acks settle between rounds
        }
        Map<String, Object> roundsCpu = run.cpuFigures(cpu, "rounds");
        Map<String, Object> m = new LinkedHashMap<>(Meter.percentiles(all));
        m.put("devices", ids.size());
        m.put("connected", connected);
        m.put("complete", complete);
        m.put("roundsMs", rounds);
        m.put("rounds", roundsCpu);
        List<Double> sorted = rounds.stream().sorted().toList();
        m.put("lastDeliveryMs", sorted.get(sorted.size() / 2)); // the median round
        m.putAll(run.serverFigures());
        run.disconnectAll(ids);
        return m;
    }
}
