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

    @Override
    public Integer call() throws Exception {
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
                try (Target target = started(name, work, services)) {
                    // Ctrl-C or SIGTERM still stops the servers this run started
                    Thread stopper = new Thread(target::close, "bench-stop-" + name);
                    Runtime.getRuntime().addShutdownHook(stopper);
                    try (Run run = new Run(s.name(), target, sizes)) {
                        figures.putAll(s.run(run));
                        List<Long> received = run.meter.receivedPerSecond();
                        throughput.put(name, received.stream().anyMatch(v -> v > 0) && !s.chartsAcknowledged() ? received
                                : run.meter.ackedPerSecond());
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
            if (s.note() != null) {
                results.note(s.note());
            }
            System.err.println("== " + s.name() + " written to " + out.toAbsolutePath());
        }
        return failed ? 1 : 0;
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
    private static Target started(String name, Path work, ClusterServices services) throws Exception {
        for (int attempt = 1; ; attempt++) {
            Target target = target(name, services);
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

    static Target target(String name, ClusterServices services) {
        if (name.startsWith(CLUSTER_TARGET)) {
            return MssTarget.cluster(name, Integer.parseInt(name.substring(CLUSTER_TARGET.length())), services);
        }
        return switch (name) {
            case "mss" -> new MssTarget("mss", true, Map.of());
            case ROCKSDB_TARGET -> new MssTarget(ROCKSDB_TARGET, true, Map.of());
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
