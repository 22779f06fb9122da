package io.mss.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.mss.server.config.ServerConfig;
import io.mss.server.store.rocksdb.RocksDbStore;
import io.mss.server.sync.SyncEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** openapi.yaml describes exactly the routes HttpApi registers: a new route without a description fails here. */
class OpenApiDocumentTest {

    @Test
    void everyRouteIsDocumentedAndEveryDocumentedRouteExists(@TempDir Path dir) throws Exception {
        ServerConfig config = new ServerConfig();
        config.dataDir = dir.toString();
        List<String> routes;
        try (RocksDbStore store = RocksDbStore.open(dir.resolve("store"));
             SyncEngine engine = new SyncEngine(store, store, store, Clock.systemUTC(), 500, 1 << 20);
             HttpApi api = new HttpApi(config, "test-api-key-0123456789", engine, store)) {
            routes = api.routes();
        }
        List<String> documented = documentedRoutes();

        assertThat(routes).as("routes registered by HttpApi").contains("GET /metrics", "GET /api/v1/stats");
        assertThat(documented).as("operations in openapi.yaml").containsExactlyInAnyOrderElementsOf(routes);
    }

    @Test
    void everyOperationSaysWhatItDoesAndAnswers() throws Exception {
        JsonNode paths = openApi().path("paths");
        for (Iterator<Map.Entry<String, JsonNode>> it = paths.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> path = it.next();
            path.getValue().fields().forEachRemaining(operation -> {
                if (operation.getKey().equals("parameters")) {
                    return;
                }
                assertThat(operation.getValue().path("summary").asText()).as(operation.getKey() + " " + path.getKey())
                        .isNotBlank();
                assertThat(operation.getValue().path("responses").size()).as(operation.getKey() + " " + path.getKey())
                        .isPositive();
            });
        }
    }

    private static List<String> documentedRoutes() throws Exception {
        List<String> documented = new ArrayList<>();
        openApi().path("paths").fields().forEachRemaining(path -> path.getValue().fieldNames().forEachRemaining(method -> {
            if (!method.equals("parameters")) {
                documented.add(method.toUpperCase(Locale.ROOT) + " " + path.getKey());
            }
        }));
        return documented;
    }

    private static JsonNode openApi() throws Exception {
        try (InputStream in = HttpApi.class.getResourceAsStream("/openapi.yaml")) {
            assertThat(in).as("openapi.yaml on the classpath").isNotNull();
            return new ObjectMapper(new YAMLFactory()).readTree(in);
        }
    }
}
