package io.mss.e2e;

import io.mss.server.MssServer;
import io.mss.server.auth.TokenVerifier;
import io.mss.server.config.ServerConfig;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/** A real MSS node in this JVM: RocksDB in a temp dir, real TLS, ephemeral loopback ports. */
final class TestServer implements AutoCloseable {
    static final String API_KEY = "test-api-key-0123456789";
    static final String TOKEN_SECRET = "test-token-secret-0123456789-0123456789";
    static final Map<String, String> ENV = Map.of("MSS_API_KEY", API_KEY, "MSS_TOKEN_SECRET", TOKEN_SECRET);

    final MssServer server;
    final Api api;
    final Path dataDir;

    private TestServer(MssServer server, Path dataDir) {
        this.server = server;
        this.dataDir = dataDir;
        this.api = new Api("http://127.0.0.1:" + server.httpPort(), API_KEY);
    }

    static TestServer start(Path dataDir) throws Exception {
        return start(dataDir, c -> { });
    }

    static TestServer start(Path dataDir, java.util.function.Consumer<ServerConfig> tweak) throws Exception {
        return start(dataDir, tweak, Clock.systemUTC());
    }

    /** @param clock the server's oplog time; {@link TestClock} lets a test move it days ahead */
    static TestServer start(Path dataDir, java.util.function.Consumer<ServerConfig> tweak, Clock clock)
            throws Exception {
        ServerConfig config = new ServerConfig();
        config.dataDir = dataDir.toString();
        config.bindHost = "127.0.0.1";
        config.syncPort = 0;
        config.httpPort = 0;
        config.wsPort = 0;
        tweak.accept(config);
        return new TestServer(MssServer.start(config, ENV, clock), dataDir);
    }

    int syncPort() {
        return server.syncPort();
    }

    int wsPort() {
        return server.wsPort();
    }

    Path certFile() {
        return server.certFile();
    }

    static String token(String deviceId, String userId) {
        return new TokenVerifier(TOKEN_SECRET, Clock.systemUTC()).mint(deviceId, userId, 3600);
    }

    @Override
    public void close() {
        server.close();
    }
}
