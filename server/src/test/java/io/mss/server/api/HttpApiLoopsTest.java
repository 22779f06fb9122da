package io.mss.server.api;

import io.mss.server.config.ServerConfig;
import io.mss.server.store.rocksdb.RocksDbStore;
import io.mss.server.sync.SyncEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP API runs on every event loop it has, not on one: connections are spread over the
 * servers, and each server answers on a loop of its own. (Created from one non-Vert.x thread,
 * the servers all shared one loop, and one core carried every HTTP push.)
 */
class HttpApiLoopsTest {
    @Test
    void connectionsAreServedByEveryEventLoop(@TempDir Path dir) throws Exception {
        ServerConfig config = new ServerConfig();
        config.dataDir = dir.toString();
        config.bindHost = "127.0.0.1";
        config.httpPort = 0;
        int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
        try (RocksDbStore store = RocksDbStore.open(dir.resolve("store"));
             SyncEngine engine = new SyncEngine(store, store, store, Clock.systemUTC(), 500, 1 << 20);
             HttpApi api = new HttpApi(config, "test-api-key-0123456789", engine, store)) {
            api.router().get("/test/loop").handler(ctx -> ctx.response().end(Thread.currentThread().getName()));
            api.start();
            Set<String> threads = new HashSet<>();
            for (int i = 0; i < 4 * loops; i++) {
                threads.add(answerOnNewConnection(api.port()));
            }
            assertThat(threads).as("the threads that answered %d connections", 4 * loops)
                    .hasSize(loops).allMatch(name -> name.startsWith("vert.x-eventloop-thread-"));
        }
    }

    /** The body of {@code GET /test/loop} on a connection of its own. */
    private static String answerOnNewConnection(int port) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET /test/loop HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(answer).startsWith("HTTP/1.1 200");
            return answer.substring(answer.indexOf("\r\n\r\n") + 4);
        }
    }
}
