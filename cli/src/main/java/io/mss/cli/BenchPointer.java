package io.mss.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * Keeps {@code bench} in {@code ./mss --help}. The benchmark tool is a module of its own with its
 * own classpath: from a clone, the {@code ./mss} launcher runs it before this class is reached;
 * the server's distribution does not carry it.
 */
@Command(name = "bench",
        description = "Benchmarks MSS side by side with Mosquitto and NATS JetStream on this machine.")
final class BenchPointer implements Callable<Integer> {
    @Unmatched
    List<String> args;

    @Override
    public Integer call() {
        System.err.println("mss bench: the benchmark tool is not part of the server's distribution; "
                + "run ./mss bench from a clone of the sources (see BENCHMARKS.md)");
        return Failures.USER_ERROR;
    }
}
