package io.mss.bench.scenario;

import io.mss.bench.measure.Meter;
import io.mss.bench.measure.CpuUse;
import io.mss.bench.report.RatioFigure;
import io.mss.bench.targets.Workload;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Catch-up: one device goes offline while oplogs queue across ten bizTypes (topics, subjects);
 * the time from its reconnect until it has received (and acked) them all.
 */
public final class Catchup implements Scenario {

    @Override
    public String name() {
        return "catchup";
    }

    @Override
    public Map<String, Boolean> headline() {
        Map<String, Boolean> m = new LinkedHashMap<>();
        m.put("catchupMs", false);
        m.put("messagesPerSecond", true);
        m.put("reconnect.serverCpuPercent", false);
        m.put("reconnect.generatorCpuPercent", null);
        m.put("serverRssMB", false);
        m.put("deviceWireBytes", false);
        return m;
    }

    @Override
    public List<RatioFigure> bestPeerRatios() {
        return List.of(new RatioFigure("catch-up of one device's backlog (ms)", "catchupMs", false, "reconnect.generatorBound"));
    }

    @Override
    public Map<String, Object> run(Run run) throws Exception {
        String device = "catchup-device";
        List<String> ids = List.of(device);
        run.phase("prepare");
        run.target.prepare(Workload.TOPICS, ids);
        run.connectAll(ids, Workload.TOPICS, 1); // sets up the subscriptions / session
        run.disconnectAll(ids);
        run.phase("queue");
        int total = run.sizes.catchupOplogs();
        int perTopic = total / Workload.TOPIC_COUNT;
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        int batch = 100;
        for (int topic = 0; topic < Workload.TOPIC_COUNT; topic++) {
            for (int i = 0; i < perTopic; i += batch) {
                int n = Math.min(batch, perTopic - i);
                List<String> targets = new ArrayList<>(n);
                List<String> payloads = new ArrayList<>(n);
                for (int k = 0; k < n; k++) {
                    targets.add(device);
                    payloads.add(Meter.payload(run.sizes.payloadChars()));
                }
                run.meter.sent.add(n);
                pending.add(run.target.publishBatch(targets, topic, payloads).thenRun(() -> run.meter.acked.add(n)));
                if (pending.size() >= 16) {
                    pending.remove(0).join();
                }
            }
        }
        CompletableFuture.allOf(pending.toArray(new CompletableFuture<?>[0])).get(5, TimeUnit.MINUTES);
        long queued = perTopic * (long) Workload.TOPIC_COUNT;
        run.phase("reconnect");
        long receivedBefore = run.meter.received.sum();
        CpuUse cpu = run.cpuUse();
        long start = System.nanoTime();
        long failed = run.connectAll(ids, Workload.TOPICS, 1);
        boolean complete = Run.await(() -> run.meter.received.sum() - receivedBefore >= queued, 120_000);
        double ms = (System.nanoTime() - start) / 1e6;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("queued", queued);
        m.put("received", run.meter.received.sum() - receivedBefore);
        m.put("complete", complete && failed == 0);
        m.put("catchupMs", ms);
        m.put("messagesPerSecond", queued / (ms / 1000));
        m.put("reconnect", run.cpuFigures(cpu, "reconnect"));
        m.putAll(run.serverFigures());
        run.disconnectAll(ids);
        return m;
    }
}
