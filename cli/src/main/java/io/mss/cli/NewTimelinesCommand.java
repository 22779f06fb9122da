package io.mss.cli;

import io.mss.server.config.ServerConfig;
import io.mss.server.startup.StartupChecks;
import io.mss.server.startup.StartupException;
import io.mss.server.store.StoreException;
import io.mss.server.store.postgres.PostgresStore;
import io.mss.server.store.rocksdb.RocksDbStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * After a store was put back by other means than {@code ./mss restore} — a data dir copied back
 * by hand, a PostgreSQL schema restored with pg_restore — devices may hold positions the
 * restored store never had. This starts a new timeline (epoch) for every scope, so each of them
 * is told FULL_UPDATE once rather than resumed into ids that now carry other data.
 */
@Command(name = "new-timelines", mixinStandardHelpOptions = true,
        description = {"Starts a new timeline (epoch) for every scope, after a store was restored by hand.",
                "For a copied data dir or a pg_restore: every device is told FULL_UPDATE once, never stalled.",
                "The embedded store must be stopped; on PostgreSQL the nodes may keep running."})
final class NewTimelinesCommand implements Callable<Integer> {
    @Option(names = "--config", description = "YAML configuration file (default: ./mss.yaml when it exists).")
    Path config;

    @Option(names = "--data-dir", description = "The embedded store's data dir (default: ./data).")
    Path dataDir;

    @Override
    public Integer call() {
        Path file = config;
        if (file == null && Files.exists(Path.of("mss.yaml"))) {
            file = Path.of("mss.yaml");
        }
        ServerConfig cfg = ServerConfig.load(file, System.getenv());
        if (dataDir != null) {
            cfg.dataDir = dataDir.toString();
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        if ("postgres".equals(cfg.store)) {
            try (PostgresStore store = PostgresStore.open(new PostgresStore.Options(cfg.postgresUrl, cfg.postgresUser,
                    cfg.postgresPassword, cfg.postgresSchema, 2, 16, java.time.Duration.ofSeconds(5),
                    Clock.systemUTC(), null))) {
                store.startNewTimelines();
            }
            answer.put("store", "postgres");
            answer.put("schema", cfg.postgresSchema);
        } else {
            Path store = cfg.dataPath().resolve("store");
            if (!Files.isDirectory(store)) {
                throw new StartupException("no store in " + cfg.dataPath().toAbsolutePath().normalize()
                        + ": give the node's data dir with --data-dir", null);
            }
            RocksDbStore rocks;
            try {
                rocks = RocksDbStore.open(store);
            } catch (StoreException e) {
                // a running node holds the store: one line naming it
                throw StartupChecks.storeFailure(e, cfg.dataPath(), store);
            }
            try (rocks) {
                rocks.startNewTimelines();
            }
            answer.put("store", "rocksdb");
            answer.put("dataDir", cfg.dataPath().toAbsolutePath().normalize().toString());
        }
        answer.put("newTimelines", true);
        try {
            System.out.println(ApiClient.JSON.writeValueAsString(answer));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return 0;
    }
}
