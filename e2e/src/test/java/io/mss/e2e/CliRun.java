package io.mss.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One {@code ./mss} command as its own JVM, run to its end: exit code, stdout and stderr, for
 * tests of what a user is told.
 */
record CliRun(int exitCode, String stdout, String stderr) {

    static CliRun run(Path workDir, String... args) throws IOException, InterruptedException {
        return run(workDir, Map.of(), args);
    }

    /** @param env added to the environment, which never carries the developer's MSS_API_KEY / MSS_TOKEN_SECRET */
    static CliRun run(Path workDir, Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("mss.server.classpath") + java.io.File.pathSeparator
                        + System.getProperty("java.class.path"),
                "io.mss.cli.Main"));
        command.addAll(Arrays.asList(args));
        Files.createDirectories(workDir);
        Path out = Files.createTempFile(workDir, "cli-", ".out");
        Path err = Files.createTempFile(workDir, "cli-", ".err");
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().remove("MSS_API_KEY");
        builder.environment().remove("MSS_TOKEN_SECRET");
        builder.environment().remove("MSS_DATA_DIR");
        builder.environment().putAll(env);
        Process process = builder.start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("./mss " + String.join(" ", args) + " did not end within 60 s; stderr:\n"
                    + Files.readString(err));
        }
        return new CliRun(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    /** stderr's lines, without the log lines a starting server writes before it fails. */
    List<String> errorLines() {
        return stderr.lines().filter(line -> !line.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*")).toList();
    }
}
