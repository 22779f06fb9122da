package io.mss.bench;

import io.mss.bench.jmh.MicroBenchmarks;
import io.mss.bench.report.Results;
import io.mss.bench.scenario.Broadcast;
import io.mss.bench.scenario.Catchup;
import io.mss.bench.scenario.Fanout;
import io.mss.bench.scenario.Idle;
import io.mss.bench.scenario.Ingest;
import io.mss.bench.scenario.Run;
import io.mss.bench.scenario.Scenario;
import io.mss.bench.scenario.Sizes;
import io.mss.bench.scenario.Storm;
import io.mss.bench.targets.MosquittoTarget;
import io.mss.bench.targets.MssTarget;
import io.mss.bench.targets.NatsTarget;
import io.mss.bench.targets.Target;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code ./mss bench <scenario>}: runs scenarios against MSS and its peers, writes JSON, charts and report.md. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks MSS side by side with Mosquitto and NATS JetStream on this machine.",
                "Starts every server itself on loopback with free ports and stops it after.",
                "Scenarios: fanout, ingest, idle, catchup, storm, broadcast, all; jmh runs the micro-benchmarks."})
public final class BenchCommand implements Callable<Integer> {
    public static final List<String> ALL_TARGETS = List.of("mss", "mss-nofsync", "mosquitto", "nats", "nats-always");

    @Parameters(index = "0", description = "fanout | ingest | idle | catchup | storm | broadcast | all | jmh")
    String scenario;

    @Option(names = "--targets", split = ",", description = "Comma-separated: mss, mss-nofsync, mosquitto, nats, nats-always (default: all).")
    List<String> targets = new ArrayList<>(ALL_TARGETS);

    @Option(names = "--out", description = "Where results go (default: bench-results).")
    Path out = Path.of("bench-results");

    @Option(names = "--smoke", description = "Tiny sizes: proves the tool works in about 30 s per target.")
    boolean smoke;

    @Option(names = "--devices", description = "Connected devices for fanout, storm, broadcast (default: 10000).")
    Integer devices;

    @Option(names = "--idle-connections", description = "Connections held by the idle scenario (default: 18000, "
            + "what a 20,000 open-file limit allows).")
    Integer idleConnections;

    @Option(names = "--keep", description = "Keep the servers' work directories (logs, data) under the system temp dir.")
    boolean keep;

    @Option(names = "--jmh-args", description = "Extra JMH options for 'jmh', e.g. \"-f 1 -wi 3 -i 5\".")
    String jmhArgs = "";

    @Override
    public Integer call() throws Exception {
        if (scenario.equals("jmh")) {
            return MicroBenchmarks.run(jmhArgs);
        }
        Sizes sizes = smoke ? Sizes.smoke() : Sizes.full();
        if (devices != null) {
            sizes = sizes.withDevices(devices);
        }
        if (idleConnections != null) {
            sizes = sizes.withIdleConnections(idleConnections);
        }
        List<Scenario> scenarios = scenarios(scenario);
        if (scenarios.isEmpty()) {
            System.err.println("bench: unknown scenario '" + scenario
                    + "'; known: fanout, ingest, idle, catchup, storm, broadcast, all, jmh");
            return 2;
        }
        for (String t : targets) {
            if (!ALL_TARGETS.contains(t)) {
                System.err.println("bench: unknown target '" + t + "'; known: " + String.join(", ", ALL_TARGETS));
                return 2;
            }
        }
        Results results = new Results(out, Machine.describe(smoke));
        boolean failed = false;
        for (Scenario s : scenarios) {
            Map<String, Map<String, Object>> byTarget = new LinkedHashMap<>();
            Map<String, List<Long>> throughput = new LinkedHashMap<>();
            for (String name : targets) {
                System.err.println("== " + s.name() + " against " + name);
                Map<String, Object> figures = new LinkedHashMap<>();
                Path work = Files.createTempDirectory("mss-bench-" + s.name() + "-" + name + "-");
                boolean keepWork = false;
                try (Target target = started(name, work)) {
                    // Ctrl-C or SIGTERM still stops the servers this run started
                    Thread stopper = new Thread(target::close, "bench-stop-" + name);
                    Runtime.getRuntime().addShutdownHook(stopper);
                    try (Run run = new Run(s.name(), target, sizes)) {
                        figures.putAll(s.run(run));
                        List<Long> received = run.meter.receivedPerSecond();
                        throughput.put(name, received.stream().anyMatch(v -> v > 0) ? received : run.meter.ackedPerSecond());
                        figures.put("errors", run.meter.errors.sum());
                        figures.put("serverCpuPerSecond", run.cpuPerSecond());
                    } finally {
                        Runtime.getRuntime().removeShutdownHook(stopper);
                    }
                } catch (UnsupportedOperationException e) {
                    figures.put("error", e.getMessage());
                    System.err.println("== " + name + " not measured: " + e.getMessage());
                } catch (Exception e) {
                    failed = true;
                    keepWork = true; // the server logs are in it
                    figures.put("error", e.toString());
                    System.err.println("== " + s.name() + " against " + name + " failed: " + e);
                    e.printStackTrace();
                } finally {
                    if (!keepWork && !keep) {
                        deleteQuietly(work);
                    }
                }
                byTarget.put(name, figures);
            }
            results.scenario(s.name(), s.headline(), byTarget, throughput);
            System.err.println("== " + s.name() + " written to " + out.toAbsolutePath());
        }
        return failed ? 1 : 0;
    }

    static List<Scenario> scenarios(String name) {
        List<Scenario> all = List.of(new Fanout(), new Ingest(), new Idle(), new Catchup(), new Storm(), new Broadcast());
        if (name.equals("all")) {
            return all;
        }
        return all.stream().filter(s -> s.name().equals(name)).toList();
    }

    /**
     * Starts the target, on fresh free ports again when it lost a race for one: a port found free can be
     * taken (by another process, or as an ephemeral port) before the server binds it.
     */
    private static Target started(String name, Path work) throws Exception {
        for (int attempt = 1; ; attempt++) {
            Target target = target(name);
            System.err.println("== " + name + " starting");
            try {
                target.start(work.resolve("attempt-" + attempt));
                return target;
            } catch (java.io.IOException e) {
                target.close();
                if (attempt == 3) {
                    throw e;
                }
                System.err.println("== " + name + " did not start (" + e.getMessage() + "); trying other ports");
            } catch (Exception e) {
                target.close();
                throw e;
            }
        }
    }

    static Target target(String name) {
        return switch (name) {
            case "mss" -> new MssTarget("mss", true, Map.of());
            case "mss-nofsync" -> new MssTarget("mss-nofsync", false, Map.of());
            case "mosquitto" -> new MosquittoTarget();
            case "nats" -> new NatsTarget("nats", false);
            case "nats-always" -> new NatsTarget("nats-always", true);
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp dir left behind is harmless
        }
    }
}
