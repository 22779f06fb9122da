package io.mss.cli;

import io.mss.server.MssServer;
import io.mss.server.config.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "server", mixinStandardHelpOptions = true,
        description = "Runs an MSS node on the embedded store (RocksDB in the data dir).")
final class ServerCommand implements Callable<Integer> {
    /** Keeps the JVM alive after main returns while the server runs. */
    static volatile boolean RUNNING;

    @Option(names = "--config", description = "YAML configuration file (default: ./mss.yaml when it exists).")
    Path config;

    @Option(names = "--data-dir", description = "Store, secrets and TLS certificate (default: ./data).")
    Path dataDir;

    @Option(names = "--sync-port", description = "TLS port for app connections (default: 7443).")
    Integer syncPort;

    @Option(names = "--http-port", description = "HTTP API port (default: 7080).")
    Integer httpPort;

    @Option(names = "--ws-port", description = "Secure WebSocket port for browsers, wss://HOST:PORT/sync "
            + "(default: 7444; -1: off).")
    Integer wsPort;

    @Option(names = "--bind", description = "Address to listen on (default: 0.0.0.0).")
    String bindHost;

    @Option(names = "--no-fsync", description = "Do not fsync group commits: faster, and a crash loses "
            + "acknowledged pushes. For benchmarks only.")
    boolean noFsync;

    @Override
    public Integer call() throws Exception {
        Path file = config;
        if (file == null && Files.exists(Path.of("mss.yaml"))) {
            file = Path.of("mss.yaml");
        }
        ServerConfig cfg;
        try {
            cfg = ServerConfig.load(file, System.getenv());
            if (dataDir != null) {
                cfg.dataDir = dataDir.toString();
            }
            if (syncPort != null) {
                cfg.syncPort = syncPort;
            }
            if (httpPort != null) {
                cfg.httpPort = httpPort;
            }
            if (wsPort != null) {
                cfg.wsPort = wsPort;
            }
            if (bindHost != null) {
                cfg.bindHost = bindHost;
            }
            if (noFsync) {
                cfg.fsync = false;
            }
            cfg.validate();
        } catch (ServerConfig.ConfigException e) {
            System.err.println("mss server: " + e.getMessage());
            return 2;
        }
        MssServer server = MssServer.start(cfg, System.getenv());
        RUNNING = true;
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "mss-shutdown"));
        return 0;
    }
}
