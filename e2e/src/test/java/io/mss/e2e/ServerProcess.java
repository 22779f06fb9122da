package io.mss.e2e;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;

/**
 * The server as a separate JVM, started the way {@code ./mss server} starts it, so that a test
 * can kill it with SIGKILL and restart it on the same data dir and ports.
 */
final class ServerProcess implements AutoCloseable {
    final Path dataDir;
    final int syncPort;
    final int httpPort;
    final int wsPort;
    private final Path logDir;
    private Process process;
    private int starts;
    /** false: no MSS_API_KEY / MSS_TOKEN_SECRET, so the server generates them into the data dir. */
    boolean secretsFromEnvironment = true;
    /** Extra environment of the server process (cluster settings: MSS_STORE, MSS_BUS, ...). */
    final java.util.Map<String, String> env = new java.util.LinkedHashMap<>();

    ServerProcess(Path dataDir, Path logDir) throws IOException {
        this.dataDir = dataDir;
        this.logDir = logDir;
        this.syncPort = freePort();
        this.httpPort = freePort();
        this.wsPort = freePort();
    }

    void start() throws IOException {
        String classpath = System.getProperty("mss.server.classpath");
        if (classpath == null || classpath.isBlank()) {
            throw new IllegalStateException("system property mss.server.classpath is not set; run the tests with Maven");
        }
        classpath = classpath + java.io.File.pathSeparator + System.getProperty("java.class.path");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-Dio.netty.leakDetection.level=paranoid",
                "-cp", classpath, "io.mss.cli.Main", "server",
                "--data-dir", dataDir.toString(), "--bind", "127.0.0.1",
                "--sync-port", String.valueOf(syncPort), "--http-port", String.valueOf(httpPort),
                "--ws-port", String.valueOf(wsPort)));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(logDir.resolve("server-" + (++starts) + ".log").toFile());
        builder.environment().remove("MSS_API_KEY");
        builder.environment().remove("MSS_TOKEN_SECRET");
        if (secretsFromEnvironment) {
            builder.environment().putAll(TestServer.ENV);
        }
        builder.environment().putAll(env);
        process = builder.start();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/health/ready"))
                .timeout(Duration.ofSeconds(1)).build();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("server exited with " + process.exitValue() + "; see " + logDir);
            }
            return http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        });
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    /** SIGKILL: no shutdown hook, no flush, no goodbye. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** The child JVMs run with paranoid leak detection too; their logs must not report a leak. */
    void assertNoLeaksLogged() throws IOException {
        try (var logs = java.nio.file.Files.list(logDir)) {
            for (Path log : (Iterable<Path>) logs::iterator) {
                String text = java.nio.file.Files.readString(log);
                if (text.contains("LEAK:")) {
                    throw new AssertionError("Netty reported a leak in " + log + ":\n" + text);
                }
            }
        }
    }

    Api api() {
        return new Api("http://127.0.0.1:" + httpPort, secretsFromEnvironment ? TestServer.API_KEY : fileSecret("api-key"));
    }

    private String fileSecret(String name) {
        try {
            return java.nio.file.Files.readString(dataDir.resolve(name)).trim();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A CLI command ({@code ./mss <args>}) as a child JVM; its stdout is handed to the caller. */
    static Process cli(Path workDir, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("mss.server.classpath") + java.io.File.pathSeparator
                        + System.getProperty("java.class.path"),
                "io.mss.cli.Main"));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectError(workDir.resolve("cli-" + args[0] + "-" + System.nanoTime() + ".log").toFile());
        builder.environment().remove("MSS_API_KEY");
        builder.environment().remove("MSS_TOKEN_SECRET");
        return builder.start();
    }

    Path certFile() {
        return dataDir.resolve("tls").resolve("server.crt");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    kill();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
