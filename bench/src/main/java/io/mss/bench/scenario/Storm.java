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
 * Reconnect storm: every device offline with a few messages pending, then all reconnect at once; the
 * time until every one has all its messages, and the errors seen on the way.
 */
public final class Storm implements Scenario {

    @Override
    public String name() {
        return "storm";
    }

    @Override
    public Map<String, Boolean> headline() {
        Map<String, Boolean> m = new LinkedHashMap<>();
        m.put("allCaughtUpMs", false);
        m.put("connectErrors", false);
        m.put("serverCpuSeconds", false);
        m.put("generatorCpuSeconds", null);
        m.put("serverRssMB", false);
        m.put("deviceWireBytes", false);
        return m;
    }

    @Override
    public Map<String, Object> run(Run run) throws Exception {
        List<String> ids = Run.deviceIds(run.sizes.devices());
        run.phase("prepare");
        run.target.prepare(Workload.INBOX, ids);
        run.phase("first connect");
        run.connectAll(ids, Workload.INBOX, 256);
        run.disconnectAll(ids);
        run.phase("queue");
        int pendingPerDevice = run.sizes.stormPending();
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        List<String> targets = new ArrayList<>();
        List<String> payloads = new ArrayList<>();
        for (int k = 0; k < pendingPerDevice; k++) {
            for (String id : ids) {
                targets.add(id);
                payloads.add(Meter.payload(run.sizes.payloadChars()));
                if (targets.size() == 100) {
                    int n = targets.size();
                    run.meter.sent.add(n);
                    pending.add(run.target.publishBatch(targets, -1, payloads).thenRun(() -> run.meter.acked.add(n)));
                    targets = new ArrayList<>();
                    payloads = new ArrayList<>();
                    if (pending.size() >= 16) {
                        pending.remove(0).join();
                    }
                }
            }
        }
        if (!targets.isEmpty()) {
            pending.add(run.target.publishBatch(targets, -1, payloads));
        }
        CompletableFuture.allOf(pending.toArray(new CompletableFuture<?>[0])).get(5, TimeUnit.MINUTES);
        long expected = (long) pendingPerDevice * ids.size();
        run.phase("storm");
        long receivedBefore = run.meter.received.sum();
        CpuUse cpu = run.cpuUse();
        long start = System.nanoTime();
        // everyone at once: no cap on handshakes in flight beyond the device count
        long failed = run.connectAll(ids, Workload.INBOX, ids.size());
        double connectedMs = (System.nanoTime() - start) / 1e6;
        boolean complete = Run.await(() -> run.meter.received.sum() - receivedBefore >= expected, 300_000);
        double ms = (System.nanoTime() - start) / 1e6;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("devices", ids.size());
        m.put("pendingPerDevice", pendingPerDevice);
        m.put("expected", expected);
        m.put("received", run.meter.received.sum() - receivedBefore);
        m.put("complete", complete);
        m.put("connectErrors", failed);
        m.put("allConnectedMs", connectedMs);
        m.put("allCaughtUpMs", ms);
        m.put("storm", run.cpuFigures(cpu, "storm"));
        m.putAll(run.serverFigures());
        // the storm only, not the queueing before it
        m.put("serverCpuSeconds", cpu.serverSeconds());
        m.put("generatorCpuSeconds", cpu.generatorSeconds());
        run.disconnectAll(ids);
        return m;
    }
}
