package io.mss.bench;

import picocli.CommandLine;

/**
 * {@code ./mss bench ...}: the benchmark tool runs on its own classpath ({@code bench/target/lib}),
 * so that its peers' clients, JMH and the chart libraries stay out of the server's distribution.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        int code = new CommandLine(new BenchCommand(args))
                .setCommandName("mss bench")
                .setCaseInsensitiveEnumValuesAllowed(true)
                .execute(args);
        System.exit(code);
    }
}
