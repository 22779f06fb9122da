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

/**
 * One port, two APIs: HTTP/2 requests on the gRPC service's paths go to the push service, whose
 * key check answers from the headers; everything else (any HTTP/1.1 request, any other path,
 * whatever its content type) is the JSON API's, with its own checks.
 */
class GrpcDispatchTest {
    @Test
    void onlyHttp2RequestsOnTheServicesPathsAreGrpc(@TempDir Path dir) throws Exception {
        ServerConfig config = new ServerConfig();
        config.dataDir = dir.toString();
        config.bindHost = "127.0.0.1";
        config.httpPort = 0;
        try (RocksDbStore store = RocksDbStore.open(dir.resolve("store"));
             SyncEngine engine = new SyncEngine(store, store, store, Clock.systemUTC(), 500, 1 << 20);
             HttpApi api = new HttpApi(config, "test-api-key-0123456789", engine, store)) {
            api.start();
            String base = "http://127.0.0.1:" + api.port();
            HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
            h2.send(HttpRequest.newBuilder(URI.create(base + "/health/live")).build(), // upgrades the connection to h2c
                    HttpResponse.BodyHandlers.ofString());

            HttpResponse<String> grpc = h2.send(HttpRequest.newBuilder(URI.create(base
                            + GrpcPushService.PATH_PREFIX + "Push")).header("content-type", "application/grpc")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[]{0, 0, 0, 0, 0})).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(grpc.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(grpc.headers().firstValue("grpc-status")).as("UNAUTHENTICATED, from the headers").hasValue("16");
            assertThat(grpc.headers().firstValue("mss-result-code")).hasValue("UNAUTHORIZED");

            // a gRPC content type does not make a JSON route skip its checks, on HTTP/2 or HTTP/1.1
            for (HttpClient.Version version : new HttpClient.Version[]{HttpClient.Version.HTTP_2,
                    HttpClient.Version.HTTP_1_1}) {
                HttpResponse<String> json = HttpClient.newBuilder().version(version).build().send(HttpRequest
                                .newBuilder(URI.create(base + "/api/v1/push")).header("content-type", "application/grpc")
                                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(json.statusCode()).as(version.name()).isEqualTo(401);
                assertThat(json.body()).contains("\"resultCode\":\"UNAUTHORIZED\"");
            }
            // the service's path over HTTP/1.1 is no gRPC: the JSON API answers it
            HttpResponse<String> http1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                    .send(HttpRequest.newBuilder(URI.create(base + GrpcPushService.PATH_PREFIX + "Push"))
                            .header("content-type", "application/grpc")
                            .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[]{0, 0, 0, 0, 0})).build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(http1.statusCode()).isEqualTo(404);
            assertThat(http1.body()).contains("\"resultCode\":\"NOT_FOUND\"");
        }
    }
}
