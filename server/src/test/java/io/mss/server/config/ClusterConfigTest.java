package io.mss.server.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClusterConfigTest {

    @TempDir
    Path dir;

    @Test
    void clusterSettingsComeFromYamlAndTheEnvironmentWins() throws Exception {
        Path yaml = dir.resolve("mss.yaml");
        Files.writeString(yaml, """
                store: postgres
                bus: redis
                postgres-url: jdbc:postgresql://db:5432/mss
                postgres-user: mss
                postgres-schema: prod
                postgres-pool-size: 20
                redis-uri: redis://cache:6379
                node-id: mss-1
                reconcile-interval-ms: 2000
                """);
        ServerConfig config = ServerConfig.load(yaml, Map.of("MSS_NODE_ID", "mss-2",
                "MSS_REDIS_URI", "redis://other:6380")).validate();
        assertThat(config.store).isEqualTo("postgres");
        assertThat(config.bus).isEqualTo("redis");
        assertThat(config.postgresUrl).isEqualTo("jdbc:postgresql://db:5432/mss");
        assertThat(config.postgresSchema).isEqualTo("prod");
        assertThat(config.postgresPoolSize).isEqualTo(20);
        assertThat(config.nodeId).isEqualTo("mss-2");
        assertThat(config.redisUri).isEqualTo("redis://other:6380");
        assertThat(config.reconcileIntervalMs).isEqualTo(2000);
    }

    @Test
    void theDefaultIsOneNodeOnRocksDb() {
        ServerConfig config = ServerConfig.load(null, Map.of()).validate();
        assertThat(config.store).isEqualTo("rocksdb");
        assertThat(config.bus).isEqualTo("local");
    }

    @Test
    void inconsistentClusterSettingsAreRefusedTogether() {
        assertThatThrownBy(() -> ServerConfig.load(null, Map.of("MSS_STORE", "mysql", "MSS_BUS", "kafka")).validate())
                .hasMessageContaining("store must be rocksdb or postgres, got 'mysql'")
                .hasMessageContaining("bus must be local or redis, got 'kafka'");
        assertThatThrownBy(() -> ServerConfig.load(null, Map.of("MSS_BUS", "redis",
                "MSS_REDIS_URI", "redis://cache:6379")).validate())
                .hasMessageContaining("bus: redis needs store: postgres");
        assertThatThrownBy(() -> ServerConfig.load(null, Map.of("MSS_STORE", "postgres", "MSS_BUS", "redis",
                "MSS_POSTGRES_SCHEMA", "bad-name;")).validate())
                .hasMessageContaining("postgres-url must be a jdbc:postgresql: URL")
                .hasMessageContaining("postgres-schema must be a plain identifier")
                .hasMessageContaining("redis-uri must be a redis://, rediss:// or redis-sentinel:// URI");
    }

    @Test
    void oneNodeOnPostgresIsAllowedAndReconciles() {
        ServerConfig config = ServerConfig.load(null, Map.of("MSS_STORE", "postgres",
                "MSS_POSTGRES_URL", "jdbc:postgresql://db:5432/mss")).validate();
        assertThat(config.bus).isEqualTo("local");
        assertThatThrownBy(() -> ServerConfig.load(null, Map.of("MSS_STORE", "postgres",
                "MSS_POSTGRES_URL", "jdbc:postgresql://db:5432/mss", "MSS_RECONCILE_INTERVAL_MS", "0")).validate())
                .hasMessageContaining("reconcile-interval-ms");
    }
}
