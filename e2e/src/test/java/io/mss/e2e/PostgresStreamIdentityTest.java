package io.mss.e2e;

import io.mss.server.config.ServerConfig;
import io.mss.server.store.postgres.PostgresStore;

import java.util.concurrent.atomic.AtomicInteger;

/** Stream identity on PostgreSQL (the shared database's schema dropped and created anew as "wiped"). */
class PostgresStreamIdentityTest extends StreamIdentityContract {
    private static final AtomicInteger SCHEMAS = new AtomicInteger();
    private final String schema = "identity_" + ProcessHandle.current().pid() + "_" + SCHEMAS.incrementAndGet();

    @Override
    void configure(ServerConfig config) {
        config.store = "postgres";
        config.postgresUrl = Cluster.POSTGRES_URL;
        config.postgresUser = Cluster.POSTGRES_USER;
        config.postgresSchema = schema;
    }

    @Override
    void wipeStore() {
        PostgresStore.dropSchema(Cluster.POSTGRES_URL, Cluster.POSTGRES_USER, "", schema);
    }
}
