package io.mss.server.api;

import io.mss.server.config.ServerConfig;
import io.mss.server.store.rocksdb.RocksDbStore;
import io.mss.server.sync.SyncEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;

import static org.assertj.core.api.Assertions.assertThat;

/** withGrpc: requests with content-type application/grpc* go to the mounted handler, everything else to the JSON routes. */
class GrpcSeamTest {
    @Test
    void grpcRequestsReachTheMountedHandlerOverH2cAndJsonRoutesStayAsTheyWere(@TempDir Path dir) throws Exception {
        ServerConfig config = new ServerConfig();
        config.dataDir = dir.toString();
        config.bindHost = "127.0.0.1";
        config.httpPort = 0;
        try (RocksDbStore store = RocksDbStore.open(dir.resolve("store"));
             SyncEngine engine = new SyncEngine(store, store, store, Clock.systemUTC(), 500, 1 << 20);
             HttpApi api = new HttpApi(config, "test-api-key-0123456789", engine, store)) {
            api.withGrpc(request -> request.response().putHeader("content-type", "text/plain")
                    .end("grpc handler, " + request.version())).start();
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
            String base = "http://127.0.0.1:" + api.port();
            http.send(HttpRequest.newBuilder(URI.create(base + "/health/live")).build(), // upgrades the connection to h2c
                    HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> grpc = http.send(HttpRequest.newBuilder(URI.create(base + "/mss.PushService/Push"))
                    .header("content-type", "application/grpc+proto")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[]{0, 0, 0, 0, 0})).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(grpc.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(grpc.body()).isEqualTo("grpc handler, HTTP_2");

            HttpResponse<String> json = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/biz-types")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(json.statusCode()).isEqualTo(401);
            assertThat(json.body()).contains("\"resultCode\":\"UNAUTHORIZED\"");
        }
    }
}
