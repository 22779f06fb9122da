package io.mss.bench.targets;

import io.mss.cli.ServerJvmOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Where the processes of a benchmark run. Unpinned, the server under test and the load generator share
 * every core, and the scheduler moves them as it likes. Pinned ({@code --pinned}), the server (every
 * target alike: mosquitto, nats-server, the MSS JVM) runs under {@code taskset -c 0} and the load
 * generator under {@code taskset -c 1}: neither takes the other's core, so figures move less between
 * runs on a machine that others use too.
 */
public final class Pinning {
    public static final Pinning NONE = new Pinning(false);
    public static final Pinning PINNED = new Pinning(true);
    public static final String SERVER_CPU = "0";
    public static final String GENERATOR_CPU = "1";

    private final boolean pinned;

    private Pinning(boolean pinned) {
        this.pinned = pinned;
    }

    public boolean pinned() {
        return pinned;
    }

    /**
     * The command that starts a server: under {@code taskset -c 0} when pinned.
     *
     * @throws UnsupportedOperationException when the server is not installed: under taskset that would
     *         only show as a process exiting at once
     */
    public List<String> server(List<String> command) {
        if (!pinned) {
            return command;
        }
        if (!Path.of(command.get(0)).isAbsolute() && !onPath(command.get(0))) {
            throw new UnsupportedOperationException("cannot run " + command.get(0) + ": not found on PATH");
        }
        List<String> wrapped = new ArrayList<>(List.of("taskset", "-c", SERVER_CPU));
        wrapped.addAll(command);
        return wrapped;
    }

    /**
     * JVM options of the MSS server. Pinned, the JVM sees one CPU (taskset), and a JVM on one CPU picks
     * the Serial collector by itself; both are written out so the report and the command say so, and a
     * JVM that reads its CPU count elsewhere (a container's quota) still sizes its GC and pools for one.
     * Not pinned: the options the launchers start a server with ({@link ServerJvmOptions}), so the
     * benchmark measures what ships. {@code MSS_BENCH_SERVER_JVM_OPTS} adds options after these, e.g. a
     * JFR recording of the server under load; the report's header names them.
     */
    public List<String> mssJvmOptions() {
        List<String> options = new ArrayList<>(pinned ? List.of("-XX:ActiveProcessorCount=1", "-XX:+UseSerialGC")
                : List.of(ServerJvmOptions.DEFAULT.split(" ")));
        options.addAll(extraMssJvmOptions());
        return options;
    }

    /** From {@code MSS_BENCH_SERVER_JVM_OPTS}, split at white space; none when it is unset. */
    static List<String> extraMssJvmOptions() {
        String extra = System.getenv("MSS_BENCH_SERVER_JVM_OPTS");
        return extra == null || extra.isBlank() ? List.of() : List.of(extra.trim().split("\\s+"));
    }

    /** What the report's header says. */
    public String describe() {
        return pinned ? "pinned: every server under test on CPU " + SERVER_CPU + " (taskset -c " + SERVER_CPU
                + "; the MSS JVM with " + String.join(" ", mssJvmOptions()) + "), the load generator on CPU "
                + GENERATOR_CPU + " (taskset -c " + GENERATOR_CPU + ")"
                : "not pinned: servers and load generator share every core"
                + (extraMssJvmOptions().isEmpty() ? ""
                : "; the MSS JVM also with " + String.join(" ", extraMssJvmOptions()));
    }

    /**
     * Fails loudly unless pinning can work here: taskset runs, and this process may use CPUs 0 and 1.
     *
     * @return null when it can, else why not
     */
    public static String unavailable() {
        String allowed = cpusAllowed();
        if (allowed == null) {
            return "cannot read Cpus_allowed_list from /proc/self/status";
        }
        for (String cpu : List.of(SERVER_CPU, GENERATOR_CPU)) {
            try {
                Process p = new ProcessBuilder("taskset", "-c", cpu, "true").redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
                if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    return "taskset -c " + cpu + " failed (this process may run on CPUs " + allowed + "): " + out;
                }
            } catch (IOException e) {
                return "taskset is not installed (it is in util-linux): " + e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted while checking taskset";
            }
        }
        return null;
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        return path != null && java.util.Arrays.stream(path.split(java.io.File.pathSeparator))
                .anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
    }

    /** The CPUs this process may run on, as the kernel writes them ({@code 0-1}, {@code 1}), or null. */
    public static String cpusAllowed() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return line.substring("Cpus_allowed_list:".length()).trim();
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }
}
