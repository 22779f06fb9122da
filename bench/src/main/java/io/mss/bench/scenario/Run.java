package io.mss.bench.scenario;

import io.mss.bench.measure.CpuUse;
import io.mss.bench.measure.Meter;
import io.mss.bench.measure.ProcessStats;
import io.mss.bench.targets.Target;
import io.mss.bench.targets.Workload;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/**
 * One scenario against one started target: its meter, the /proc figures of the server and of the load
 * generator (this JVM), a progress line on stderr every second, and the helpers every scenario shares
 * (connect a fleet, wait for a count, measure the CPU of a part).
 */
public final class Run implements AutoCloseable {
    public final Target target;
    public final Sizes sizes;
    public final Meter meter = new Meter();
    public final ProcessStats server;
    /** This JVM: the devices, the publishers and the latency measurement. */
    public final ProcessStats generator = new ProcessStats(ProcessHandle.current().pid());
    /** Device connections that are up and subscribed. */
    public final LongAdder connected = new LongAdder();
    /** The unmeasured part every scenario with one starts with: its CPU is reported, never flagged. */
    public static final String WARM_UP = "warm-up";
    private final String label;
    private final AtomicReference<String> phase = new AtomicReference<>("start");
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "bench-progress");
        t.setDaemon(true);
        return t;
    });
    private final List<Double> cpuPerSecond = new ArrayList<>();
    private final List<Double> generatorCpuPerSecond = new ArrayList<>();
    private final List<String> generatorBound = new ArrayList<>();
    private final double generatorCpuAtStart;
    private double lastCpu;
    private double lastGeneratorCpu;

    public Run(String scenario, Target target, Sizes sizes) {
        this.target = target;
        this.sizes = sizes;
        this.server = new ProcessStats(target.serverPids());
        this.label = scenario + " " + target.name();
        lastCpu = server.cpuSeconds();
        generatorCpuAtStart = generator.cpuSeconds();
        lastGeneratorCpu = generatorCpuAtStart;
        ticker.scheduleAtFixedRate(this::progress, 1, 1, TimeUnit.SECONDS);
    }

    public void phase(String name) {
        phase.set(name);
    }

    private void progress() {
        long[] delta = meter.tick();
        double cpu = server.cpuSeconds();
        double generatorCpu = generator.cpuSeconds();
        synchronized (cpuPerSecond) {
            cpuPerSecond.add(cpu - lastCpu);
            generatorCpuPerSecond.add(generatorCpu - lastGeneratorCpu);
        }
        System.err.printf("[%s] %-16s connected=%d sent=%d acked=%d (+%d/s) received=%d (+%d/s) errors=%d cpu=%.0f%% "
                        + "generator=%.0f%% rss=%dMB%n",
                label, phase.get(), connected.sum(), meter.sent.sum(), meter.acked.sum(), delta[1], meter.received.sum(), delta[0],
                meter.errors.sum(), (cpu - lastCpu) * 100, (generatorCpu - lastGeneratorCpu) * 100, server.rssBytes() >> 20);
        lastCpu = cpu;
        lastGeneratorCpu = generatorCpu;
    }

    public List<Double> cpuPerSecond() {
        synchronized (cpuPerSecond) {
            return new ArrayList<>(cpuPerSecond);
        }
    }

    public List<Double> generatorCpuPerSecond() {
        synchronized (cpuPerSecond) {
            return new ArrayList<>(generatorCpuPerSecond);
        }
    }

    /** Starts measuring the CPU of one part: the server's and the load generator's, side by side. */
    public CpuUse cpuUse() {
        return new CpuUse(server, generator, Runtime.getRuntime().availableProcessors());
    }

    /** The CPU figures of a part since {@code use} began; a generator-bound part is remembered by its name. */
    public Map<String, Object> cpuFigures(CpuUse use, String part) {
        Map<String, Object> m = use.figures();
        if ((Boolean) m.get("generatorBound") && !part.equals(WARM_UP)) {
            String flagged = String.format(java.util.Locale.ROOT, "%s (%.0f %% of %d core(s))", part,
                    (Double) m.get("generatorCpuPercent") / (Integer) m.get("generatorCores"), m.get("generatorCores"));
            synchronized (generatorBound) {
                generatorBound.add(flagged);
            }
            System.err.println("[" + label + "] generator-bound: " + flagged);
        }
        return m;
    }

    /** The parts in which the load generator used more than 85 % of its cores. */
    public List<String> generatorBoundParts() {
        synchronized (generatorBound) {
            return new ArrayList<>(generatorBound);
        }
    }

    /** Connects every device, at most {@code concurrency} handshakes at a time; returns the failures. */
    public long connectAll(List<String> ids, Workload workload, int concurrency) throws InterruptedException {
        Semaphore permits = new Semaphore(concurrency);
        List<CompletableFuture<Void>> all = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i++) {
            permits.acquire();
            String id = ids.get(i);
            CompletableFuture<Void> connected;
            try {
                connected = target.connect(id, i, workload, (device, payload) -> meter.receivedPayload(payload));
            } catch (RuntimeException e) {
                connected = CompletableFuture.failedFuture(e);
            }
            all.add(connected.orTimeout(60, TimeUnit.SECONDS).whenComplete((v, e) -> {
                permits.release();
                if (e == null) {
                    this.connected.increment();
                }
            }));
        }
        long failed = 0;
        for (CompletableFuture<Void> f : all) {
            try {
                f.join();
            } catch (RuntimeException e) {
                failed++;
                meter.errors.increment();
                if (failed <= 3) {
                    System.err.println("[" + label + "] connect failed: " + e.getCause());
                }
            }
        }
        return failed;
    }

    public void disconnectAll(List<String> ids) {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (String id : ids) {
            all.add(target.disconnect(id));
        }
        connected.reset();
        CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0])).orTimeout(60, TimeUnit.SECONDS)
                .exceptionally(e -> null).join();
    }

    /** Waits (polling, this is a load generator) until the condition holds or the time is up. */
    public static boolean await(BooleanSupplier condition, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            TimeUnit.MILLISECONDS.sleep(2);
        }
        return true;
    }

    public static List<String> deviceIds(int n) {
        return deviceIds("d", n);
    }

    /** Ids with their own prefix: a scenario that leaves oplogs behind must not queue them for another's devices. */
    public static List<String> deviceIds(String prefix, int n) {
        List<String> ids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ids.add(String.format("%s%06d", prefix, i));
        }
        return ids;
    }

    /** Server figures every scenario reports. */
    public Map<String, Object> serverFigures() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("serverRssMB", server.rssBytes() / 1048576.0);
        m.put("serverCpuSeconds", server.cpuSeconds());
        // this JVM outlives the target: only what it used for this run
        m.put("generatorCpuSeconds", generator.cpuSeconds() - generatorCpuAtStart);
        m.put("serverIoBytes", server.ioBytes());
        m.put("deviceWireBytes", target.deviceWireBytes());
        return m;
    }

    @Override
    public void close() {
        ticker.shutdownNow();
    }
}
