package io.mss.bench;

import io.mss.bench.jmh.MicroBenchmarks;
import io.mss.bench.report.Results;
import io.mss.bench.scenario.Broadcast;
import io.mss.bench.scenario.Catchup;
import io.mss.bench.scenario.Cluster;
import io.mss.bench.scenario.Fanout;
import io.mss.bench.scenario.Idle;
import io.mss.bench.scenario.Ingest;
import io.mss.bench.scenario.Run;
import io.mss.bench.scenario.Scenario;
import io.mss.bench.scenario.Sizes;
import io.mss.bench.scenario.Storm;
import io.mss.bench.targets.ClusterServices;
import io.mss.bench.targets.MosquittoTarget;
import io.mss.bench.targets.MssTarget;
import io.mss.bench.targets.NatsTarget;
import io.mss.bench.targets.Pinning;
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
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code ./mss bench <scenario>}: runs scenarios against MSS and its peers, writes JSON, charts and report.md. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks MSS side by side with Mosquitto and NATS JetStream on this machine.",
                "Starts every server itself on loopback with free ports and stops it after.",
                "Scenarios: fanout, ingest, idle, catchup, storm, broadcast, all; jmh runs the micro-benchmarks;",
                "cluster runs ingest and fan-out against 1, 2, 3 MSS nodes on PostgreSQL and Redis (not part of all)."})
public final class BenchCommand implements Callable<Integer> {
    /** Set in the load generator's JVM started under taskset by {@code --pinned}: the CPU it runs on. */
    static final String PINNED_ENV = "MSS_BENCH_GENERATOR_CPU";
    /** Cluster setups are named by their node count: {@code pg-redis-3}. */
    static final String CLUSTER_TARGET = "pg-redis-";
    /** The cluster scenario's contrast: one node on the embedded store, fsync on. */
    static final String ROCKSDB_TARGET = "rocksdb-1";
    public static final List<String> ALL_TARGETS = List.of("mss", "mss-nofsync", "mosquitto", "nats", "nats-always");

    @Parameters(index = "0", description = "fanout | ingest | idle | catchup | storm | broadcast | all | cluster | jmh")
    String scenario;

    @Option(names = "--targets", split = ",", description = "Comma-separated: mss, mss-nofsync, mosquitto, nats, nats-always (default: all). "
            + "Not for cluster, which runs rocksdb-1 (one node on the embedded store) and the --nodes setups.")
    List<String> targets = new ArrayList<>(ALL_TARGETS);

    @Option(names = "--out", description = "Where results go (default: bench-results).")
    Path out = Path.of("bench-results");

    @Option(names = "--smoke", description = "Tiny sizes: proves the tool works in about 30 s per target.")
    boolean smoke;

    @Option(names = "--devices", description = "Connected devices for fanout, storm, broadcast (default: 10000) and cluster (default: 3000).")
    Integer devices;

    @Option(names = "--idle-connections", description = "Connections held by the idle scenario (default: 18000, "
            + "what a 20,000 open-file limit allows).")
    Integer idleConnections;

    @Option(names = "--keep", description = "Keep the servers' work directories (logs, data) under the system temp dir.")
    boolean keep;

    @Option(names = "--nodes", split = ",", description = "cluster: the node counts to run on PostgreSQL and Redis (default: 1,2,3).")
    List<Integer> nodes = List.of(1, 2, 3);

    @Option(names = "--postgres-url", description = "cluster: the PostgreSQL to use; each run creates its own schema "
            + "and drops it after (default: ${DEFAULT-VALUE}).")
    String postgresUrl = "jdbc:postgresql://127.0.0.1:5432/test";

    @Option(names = "--postgres-user", description = "cluster: PostgreSQL user, no password (default: ${DEFAULT-VALUE}).")
    String postgresUser = "postgres";

    @Option(names = "--redis-uri", description = "cluster: the Redis to use, with a key prefix of each run's own "
            + "(default: ${DEFAULT-VALUE}).")
    String redisUri = "redis://127.0.0.1:6379";

    @Option(names = "--ingest-only", description = "cluster: measure ingest only, no fan-out (about 40 s per setup).")
    boolean ingestOnly;

    @Option(names = "--jmh-args", description = "Extra JMH options for 'jmh', e.g. \"-f 1 -wi 3 -i 5\".")
    String jmhArgs = "";

    @Option(names = "--runs", description = "Runs of each scenario against every target, one after the other; "
            + "report.md gives every run and the median of each figure and of each ratio (default: ${DEFAULT-VALUE}).")
    int runs = 1;

    @Option(names = {"--pinned", "--pin"}, description = "Every server under test on CPU 0 (taskset -c 0), the load "
            + "generator on CPU 1 (taskset -c 1); needs taskset (util-linux) and 2 CPUs. Not for cluster or jmh.")
    boolean pinned;

    /** The command line as given: {@code --pinned} starts the load generator again under taskset with it. */
    private final String[] args;

    public BenchCommand(String... args) {
        this.args = args.clone();
    }

    @Override
    public Integer call() throws Exception {
        if (runs < 1) {
            System.err.println("bench: --runs takes 1 or more");
            return 2;
        }
        if (pinned && (scenario.equals("jmh") || scenario.equals("cluster"))) {
            System.err.println("bench: --pinned is for the single-server scenarios, not " + scenario
                    + " (its processes need more than one core each)");
            return 2;
        }
        if (pinned && System.getenv(PINNED_ENV) == null) {
            return runPinned();
        }
        if (pinned && !Pinning.GENERATOR_CPU.equals(Pinning.cpusAllowed())) {
            System.err.println("bench: the pinned load generator runs on CPUs " + Pinning.cpusAllowed() + ", expected "
                    + Pinning.GENERATOR_CPU + " only");
            return 2;
        }
        if (scenario.equals("jmh")) {
            return MicroBenchmarks.run(jmhArgs);
        }
        boolean clusterRun = scenario.equals("cluster");
        Sizes sizes = smoke ? Sizes.smoke() : clusterRun ? Sizes.cluster() : Sizes.full();
        if (devices != null) {
            sizes = sizes.withDevices(devices);
        }
        if (idleConnections != null) {
            sizes = sizes.withIdleConnections(idleConnections);
        }
        List<Scenario> scenarios = scenarios(scenario, ingestOnly);
        if (scenarios.isEmpty()) {
            System.err.println("bench: unknown scenario '" + scenario
                    + "'; known: fanout, ingest, idle, catchup, storm, broadcast, all, cluster, jmh");
            return 2;
        }
        ClusterServices services = new ClusterServices(postgresUrl, postgresUser, redisUri);
        if (clusterRun) {
            if (nodes.isEmpty() || nodes.stream().anyMatch(n -> n < 1 || n > 8)) {
                System.err.println("bench: --nodes takes node counts from 1 to 8, e.g. 1,2,3");
                return 2;
            }
            Optional<String> unreachable = services.unreachable();
            if (unreachable.isPresent()) {
                System.err.println("bench: cluster skipped: " + unreachable.get());
                System.err.println("bench: the cluster scenario needs PostgreSQL and Redis (--postgres-url, --redis-uri)");
                return 0;
            }
            // one node on the embedded store first, for contrast, then each cluster size
            targets = new ArrayList<>(List.of(ROCKSDB_TARGET));
            nodes.forEach(n -> targets.add(CLUSTER_TARGET + n));
        }
        for (String t : targets) {
            if (!ALL_TARGETS.contains(t) && !clusterRun) {
                System.err.println("bench: unknown target '" + t + "'; known: " + String.join(", ", ALL_TARGETS));
                return 2;
            }
        }
        Pinning pinning = pinned ? Pinning.PINNED : Pinning.NONE;
        Results results = new Results(out, Machine.describe(smoke, pinning, runs));
        boolean failed = false;
        for (Scenario s : scenarios) {
            List<Map<String, Map<String, Object>>> measured = new ArrayList<>();
            Map<String, List<Long>> firstThroughput = new LinkedHashMap<>();
            for (int r = 1; r <= runs; r++) {
                Map<String, Map<String, Object>> byTarget = new LinkedHashMap<>();
                Map<String, List<Long>> throughput = r == 1 ? firstThroughput : new LinkedHashMap<>();
                failed |= measure(s, r, sizes, services, pinning, byTarget, throughput);
                measured.add(byTarget);
                results.scenario(s.name(), s.headline(), s.bestPeerRatios(), s.note(), measured, runs, firstThroughput);
            }
            System.err.println("== " + s.name() + " written to " + out.toAbsolutePath());
        }
        return failed ? 1 : 0;
    }

    /** One run of a scenario against every target, one after the other; true when one of them failed. */
    private boolean measure(Scenario s, int runNumber, Sizes sizes, ClusterServices services, Pinning pinning,
                            Map<String, Map<String, Object>> byTarget, Map<String, List<Long>> throughput)
            throws IOException {
        boolean failed = false;
        String of = runs > 1 ? " (run " + runNumber + " of " + runs + ")" : "";
        for (String name : targets) {
            System.err.println("== " + s.name() + " against " + name + of);
            Map<String, Object> figures = new LinkedHashMap<>();
            Path work = Files.createTempDirectory("mss-bench-" + s.name() + "-" + name + "-");
            boolean keepWork = false;
            try (Target target = started(name, work, services, pinning)) {
                // Ctrl-C or SIGTERM still stops the servers this run started
                Thread stopper = new Thread(target::close, "bench-stop-" + name);
                Runtime.getRuntime().addShutdownHook(stopper);
                try (Run run = new Run(s.name(), target, sizes)) {
                    figures.putAll(s.run(run));
                    List<Long> received = run.meter.receivedPerSecond();
                    throughput.put(name, received.stream().anyMatch(v -> v > 0) && !s.chartsAcknowledged() ? received
                            : run.meter.ackedPerSecond());
                    figures.put("errors", run.meter.errors.sum());
                    figures.put("generatorBound", run.generatorBoundParts());
                    figures.put("serverCpuPerSecond", run.cpuPerSecond());
                    figures.put("generatorCpuPerSecond", run.generatorCpuPerSecond());
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
        return failed;
    }

    /**
     * {@code --pinned}: this JVM starts the load generator again under {@code taskset -c 1}, so that every
     * thread of it (and its JIT and GC, sized for one CPU) stays on CPU 1, and waits for it.
     */
    private int runPinned() throws IOException, InterruptedException {
        String unavailable = Pinning.unavailable();
        if (unavailable != null) {
            System.err.println("bench: --pinned needs taskset and CPUs " + Pinning.SERVER_CPU + " and "
                    + Pinning.GENERATOR_CPU + ": " + unavailable);
            return 2;
        }
        List<String> command = new ArrayList<>(List.of("taskset", "-c", Pinning.GENERATOR_CPU,
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        List<String> jvmOptions = java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments();
        command.addAll(jvmOptions);
        if (jvmOptions.stream().noneMatch(o -> o.matches("-XX:\\+Use\\w+GC"))) {
            // on one CPU the JVM would pick Serial for the generator too; G1, as unpinned, keeps the
            // generator's own pauses the same in both placements so only the placement differs
            command.add("-XX:+UseG1GC");
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        builder.environment().put(PINNED_ENV, Pinning.GENERATOR_CPU);
        Process generator = builder.start();
        // SIGTERM to this JVM reaches the load generator too, which then stops the servers it started
        Thread forward = new Thread(() -> {
            generator.destroy();
            try {
                generator.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "bench-pinned-stop");
        Runtime.getRuntime().addShutdownHook(forward);
        int code = generator.waitFor();
        Runtime.getRuntime().removeShutdownHook(forward);
        return code;
    }

    static List<Scenario> scenarios(String name, boolean ingestOnly) {
        List<Scenario> all = List.of(new Fanout(), new Ingest(), new Idle(), new Catchup(), new Storm(), new Broadcast());
        if (name.equals("all")) {
            return all;
        }
        if (name.equals("cluster")) {
            // about 5 minutes for 1, 2 and 3 nodes (and the embedded store): too long to ride along with every 'all'
            return List.of(new Cluster(ingestOnly));
        }
        return all.stream().filter(s -> s.name().equals(name)).toList();
    }

    /**
     * Starts the target, on fresh free ports again when it lost a race for one: a port found free can be
     * taken (by another process, or as an ephemeral port) before the server binds it.
     */
    private static Target started(String name, Path work, ClusterServices services, Pinning pinning) throws Exception {
        for (int attempt = 1; ; attempt++) {
            Target target = target(name, services, pinning);
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

    static Target target(String name, ClusterServices services, Pinning pinning) {
        if (name.startsWith(CLUSTER_TARGET)) {
            return MssTarget.cluster(name, Integer.parseInt(name.substring(CLUSTER_TARGET.length())), services);
        }
        return switch (name) {
            case "mss" -> new MssTarget("mss", true, Map.of(), pinning);
            case ROCKSDB_TARGET -> new MssTarget(ROCKSDB_TARGET, true, Map.of(), pinning);
            case "mss-nofsync" -> new MssTarget("mss-nofsync", false, Map.of(), pinning);
            case "mosquitto" -> new MosquittoTarget(pinning);
            case "nats" -> new NatsTarget("nats", false, pinning);
            case "nats-always" -> new NatsTarget("nats-always", true, pinning);
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
