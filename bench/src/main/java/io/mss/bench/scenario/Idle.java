package io.mss.bench.scenario;

import io.mss.bench.measure.CpuUse;
import io.mss.bench.report.RatioFigure;
import io.mss.bench.targets.Workload;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Idle connections: as many TLS connections as one process may open here, held with heartbeats;
 * server memory per connection (RSS, and heap after GC for MSS) and CPU while idle.
 */
public final class Idle implements Scenario {

    @Override
    public String name() {
        return "idle";
    }

    @Override
    public Map<String, Boolean> headline() {
        Map<String, Boolean> m = new LinkedHashMap<>();
        m.put("connected", true);
        m.put("rssPerConnectionKB", false);
        m.put("heapPerConnectionKB", false);
        m.put("idleCpuPercent", false);
        m.put("idle.generatorCpuPercent", null);
        m.put("connectSeconds", false);
        return m;
    }

    @Override
    public List<RatioFigure> bestPeerRatios() {
        return List.of(new RatioFigure("idle TLS connection, RSS per connection (KB)", "rssPerConnectionKB", false, null));
    }

    @Override
    public Map<String, Object> run(Run run) throws Exception {
        List<String> ids = Run.deviceIds(run.sizes.idleConnections());
        run.phase("prepare");
        run.target.prepare(Workload.IDLE, ids);
        long heapBefore = run.target.isJvm() ? run.server.heapAfterGc() : -1;
        long rssBefore = run.server.rssBytes();
        run.phase("connect");
        long start = System.nanoTime();
        long failed = run.connectAll(ids, Workload.IDLE, 256);
        double connectSeconds = (System.nanoTime() - start) / 1e9;
        run.phase("idle");
        CpuUse cpu = run.cpuUse();
        TimeUnit.SECONDS.sleep(run.sizes.idleSeconds()); // the idle period is what is measured
        double idleCpu = cpu.serverSeconds();
        Map<String, Object> idleFigures = run.cpuFigures(cpu, "idle");
        long rssAfter = run.server.rssBytes();
        long heapAfter = run.target.isJvm() ? run.server.heapAfterGc() : -1;
        long connected = ids.size() - failed;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("connections", ids.size());
        m.put("connected", connected);
        m.put("connectSeconds", connectSeconds);
        m.put("rssBeforeMB", rssBefore / 1048576.0);
        m.put("rssAfterMB", rssAfter / 1048576.0);
        m.put("rssPerConnectionKB", (rssAfter - rssBefore) / 1024.0 / Math.max(1, connected));
        if (heapAfter >= 0) {
            m.put("heapBeforeMB", heapBefore / 1048576.0);
            m.put("heapAfterMB", heapAfter / 1048576.0);
            m.put("heapPerConnectionKB", (heapAfter - heapBefore) / 1024.0 / Math.max(1, connected));
        }
        m.put("idleSeconds", run.sizes.idleSeconds());
        m.put("idleCpuPercent", 100 * idleCpu / run.sizes.idleSeconds());
        m.put("idle", idleFigures);
        m.putAll(run.serverFigures());
        run.phase("disconnect");
        run.disconnectAll(ids);
        return m;
    }
}
