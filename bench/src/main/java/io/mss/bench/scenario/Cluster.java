package io.mss.bench.scenario;

import io.mss.bench.measure.ProcessStats;
import io.mss.bench.targets.ClusterServices;
import io.mss.bench.targets.MssTarget;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Cluster: ingest, then fan-out, against one MSS node on its embedded store (for contrast) and against
 * 1, 2, 3... nodes on PostgreSQL and Redis. Pushes go round-robin over the nodes' HTTP ports and devices
 * are spread over their sync ports, so with n nodes (n-1)/n of the deliveries cross the bus. Beside the
 * figures of both scenarios: the CPU each node, PostgreSQL (this run's backends and its background
 * processes) and Redis used while each ran.
 */
public final class Cluster implements Scenario {

    /** Only the ingest part: the store's cost, measured in a fraction of the whole run's time. */
    private final boolean ingestOnly;

    public Cluster(boolean ingestOnly) {
        this.ingestOnly = ingestOnly;
    }

    @Override
    public String name() {
        return "cluster";
    }

    @Override
    public Map<String, Boolean> headline() {
        Map<String, Boolean> m = new LinkedHashMap<>();
        m.put("nodes", true);
        m.put("ingest.single.ackedPerSecond", true);
        m.put("ingest.batch.ackedPerSecond", true);
        m.put("fanout.maxRatePerSecond", true);
        m.put("fanout.halfRate.p50Ms", false);
        m.put("fanout.halfRate.p99Ms", false);
        m.put("ingestCpu.nodesPercent", false);
        m.put("ingestCpu.postgresPercent", false);
        m.put("fanoutCpu.nodesPercent", false);
        m.put("fanoutCpu.postgresPercent", false);
        m.put("fanoutCpu.redisPercent", false);
        m.put("delivery.missing", false);
        return m;
    }

    @Override
    public boolean chartsAcknowledged() {
        return true; // ingest has no receipts to chart: acknowledged pushes cover both parts
    }

    @Override
    public String note() {
        return "rocksdb-1: one node on its embedded store (fsync on), for contrast. pg-redis-N: N nodes sharing one "
                + "PostgreSQL schema and one Redis, pushes round-robin over their HTTP ports, devices spread over their "
                + "sync ports. CPU in percent of one core over each part (200% is the whole 2-core machine); "
                + "nodesPercent sums the nodes, perNodePercent in cluster.json; postgresPercent counts this run's "
                + "backends and PostgreSQL's background processes. delivery.missing: fan-out pushes acknowledged but "
                + "not received (extra ones would be duplicates; cluster.json has both).";
    }

    @Override
    public Map<String, Object> run(Run run) throws Exception {
        Map<String, Object> result = new LinkedHashMap<>();
        MssTarget mss = (MssTarget) run.target;
        result.put("nodes", mss.nodeCount());
        result.put("store", mss.clusterServices() == null ? "rocksdb" : "postgres+redis");
        Usage ingestUsage = new Usage(run, mss);
        result.put("ingest", new Ingest().run(run));
        result.put("ingestCpu", ingestUsage.figures());
        if (ingestOnly) {
            result.putAll(run.serverFigures());
            return result;
        }
        Usage fanoutUsage = new Usage(run, mss);
        long ackedBefore = run.meter.acked.sum();
        long receivedBefore = run.meter.received.sum();
        result.put("fanout", new Fanout().run(run));
        result.put("fanoutCpu", fanoutUsage.figures());
        result.put("delivery", delivery(run, ackedBefore, receivedBefore));
        result.putAll(run.serverFigures());
        return result;
    }

    /**
     * Whether every push the fan-out got acknowledged reached its device exactly once: waits for
     * stragglers (a wake-up the bus lost comes with the next reconcile, 3 s by default), then counts.
     */
    private static Map<String, Object> delivery(Run run, long ackedBefore, long receivedBefore) throws InterruptedException {
        run.phase("delivery check");
        Run.await(() -> run.meter.received.sum() - receivedBefore >= run.meter.acked.sum() - ackedBefore, 10_000);
        long acked = run.meter.acked.sum() - ackedBefore;
        long received = run.meter.received.sum() - receivedBefore;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("acknowledged", acked);
        m.put("received", received);
        m.put("missing", Math.max(0, acked - received));
        m.put("extra", Math.max(0, received - acked));
        if (acked != received) {
            System.err.println("[cluster " + run.target.name() + "] delivery: " + acked + " pushes acknowledged, "
                    + received + " received");
        }
        return m;
    }

    /**
     * CPU used from its creation until {@link #figures()}, in percent of one core over the wall time:
     * each node, all nodes, PostgreSQL, Redis. 200% is the whole of a 2-core machine.
     */
    private static final class Usage {
        private final long startNanos = System.nanoTime();
        private final List<Long> nodePids;
        private final List<Double> nodeCpu = new ArrayList<>();
        private final Map<Long, Double> postgresCpu = new LinkedHashMap<>();
        private final long redisPid;
        private final double redisCpu;

        Usage(Run run, MssTarget mss) {
            nodePids = run.target.serverPids();
            nodePids.forEach(pid -> nodeCpu.add(ProcessStats.cpuSeconds(pid)));
            ClusterServices services = mss.clusterServices();
            if (services != null) {
                services.postgresPids(mss.postgresApplicationName()).forEach(pid -> postgresCpu.put(pid, ProcessStats.cpuSeconds(pid)));
            }
            redisPid = services == null ? -1 : services.redisPid();
            redisCpu = redisPid < 0 ? 0 : ProcessStats.cpuSeconds(redisPid);
        }

        Map<String, Object> figures() {
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            Map<String, Object> m = new LinkedHashMap<>();
            List<Double> perNode = new ArrayList<>();
            double nodes = 0;
            for (int i = 0; i < nodePids.size(); i++) {
                double used = ProcessStats.cpuSeconds(nodePids.get(i)) - nodeCpu.get(i);
                perNode.add(100 * used / seconds);
                nodes += used;
            }
            m.put("seconds", seconds);
            m.put("perNodePercent", perNode);
            m.put("nodesPercent", 100 * nodes / seconds);
            if (!postgresCpu.isEmpty()) {
                // a backend that ended meanwhile drops out: the figure is then a lower bound
                double used = 0;
                for (var entry : postgresCpu.entrySet()) {
                    double delta = ProcessStats.cpuSeconds(entry.getKey()) - entry.getValue();
                    if (!Double.isNaN(delta)) {
                        used += delta;
                    }
                }
                m.put("postgresPercent", 100 * used / seconds);
                m.put("postgresProcesses", postgresCpu.size());
            }
            if (redisPid >= 0) {
                m.put("redisPercent", 100 * (ProcessStats.cpuSeconds(redisPid) - redisCpu) / seconds);
            }
            return m;
        }
    }
}
