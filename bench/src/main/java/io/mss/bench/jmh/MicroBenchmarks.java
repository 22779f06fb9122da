package io.mss.bench.jmh;

import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/** {@code ./mss bench jmh}: the micro-benchmarks with short defaults (one fork, 2 + 3 iterations of 2 s). */
public final class MicroBenchmarks {
    private MicroBenchmarks() {
    }

    public static int run(String extraArgs) throws RunnerException, CommandLineOptionException {
        String[] args = extraArgs.isBlank() ? new String[0] : extraArgs.trim().split("\\s+");
        CommandLineOptions given = new CommandLineOptions(args);
        // short defaults; anything given on the command line (a benchmark regex, -f, -wi, -i ...) wins
        var options = new OptionsBuilder()
                .forks(given.getForkCount().orElse(1))
                .warmupIterations(given.getWarmupIterations().orElse(2))
                .warmupTime(given.getWarmupTime().orElse(TimeValue.seconds(2)))
                .measurementIterations(given.getMeasurementIterations().orElse(3))
                .measurementTime(given.getMeasurementTime().orElse(TimeValue.seconds(2)))
                .jvmArgsAppend("-Xmx1g");
        if (given.getIncludes().isEmpty()) {
            options.include(MicroBenchmarks.class.getPackageName() + ".*Benchmark");
        }
        new Runner(options.parent(given).build()).run();
        return 0;
    }
}
