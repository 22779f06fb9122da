package io.mss.bench.targets;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A server child process with its output in a log file; stopped with SIGTERM, then SIGKILL. */
public final class ServerProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Path log;

    private ServerProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** @throws UnsupportedOperationException when the program cannot be run at all (not installed) */
    public static ServerProcess start(String name, List<String> command, Map<String, String> env, Path workDir) {
        Path log = workDir.resolve(name + ".log");
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        try {
            return new ServerProcess(name, builder.start(), log);
        } catch (IOException e) {
            // not installed: the target is reported as not measured, the other targets still run
            throw new UnsupportedOperationException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        }
    }

    public long pid() {
        return process.pid();
    }

    /** Waits until the port accepts TCP connections, failing early when the process exits. */
    public void awaitPort(int port, long timeoutMillis) throws IOException, InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            if (!process.isAlive()) {
                throw new IOException(name + " exited with " + process.exitValue() + "; see " + log);
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                TimeUnit.MILLISECONDS.sleep(100); // polling a child process's port: nothing to wait on instead
            }
        }
        throw new IOException(name + " did not open port " + port + " in " + timeoutMillis + " ms; see " + log);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
