package io.mss.bench.measure;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The CPU the server and the load generator (this JVM) used over one measured part, in percent of one
 * core (200 % is the whole of a 2-core machine). A part where the generator used more than
 * {@link #GENERATOR_BOUND} of the cores it may run on measured the generator as much as the server:
 * it is flagged, not dropped.
 */
public final class CpuUse {
    /** Above this share of its cores the load generator, not the server, may be what limits the figure. */
    public static final double GENERATOR_BOUND = 0.85;

    private final ProcessStats server;
    private final ProcessStats generator;
    private final int generatorCores;
    private final long startNanos = System.nanoTime();
    private final double serverStart;
    private final double generatorStart;

    public CpuUse(ProcessStats server, ProcessStats generator, int generatorCores) {
        this.server = server;
        this.generator = generator;
        this.generatorCores = generatorCores;
        this.serverStart = server.cpuSeconds();
        this.generatorStart = generator.cpuSeconds();
    }

    /** CPU-seconds the load generator used since this part began. */
    public double generatorSeconds() {
        return generator.cpuSeconds() - generatorStart;
    }

    /** CPU-seconds the server used since this part began. */
    public double serverSeconds() {
        return server.cpuSeconds() - serverStart;
    }

    /** {@code seconds}, {@code serverCpuPercent}, {@code generatorCpuPercent}, {@code generatorBound} so far. */
    public Map<String, Object> figures() {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        double generatorPercent = percent(generatorSeconds(), seconds);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seconds", seconds);
        m.put("serverCpuPercent", percent(serverSeconds(), seconds));
        m.put("generatorCpuPercent", generatorPercent);
        m.put("generatorCores", generatorCores);
        m.put("generatorBound", isGeneratorBound(generatorPercent, generatorCores));
        return m;
    }

    static double percent(double cpuSeconds, double wallSeconds) {
        return wallSeconds <= 0 ? 0 : 100 * cpuSeconds / wallSeconds;
    }

    /** Whether {@code percentOfOneCore} is more than {@link #GENERATOR_BOUND} of {@code cores} cores. */
    public static boolean isGeneratorBound(double percentOfOneCore, int cores) {
        return percentOfOneCore > 100 * GENERATOR_BOUND * cores;
    }
}
