package io.mss.server.store.postgres;

import io.mss.server.store.OplogStoreContract;

import org.junit.jupiter.api.AfterAll;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The store contract against the machine's PostgreSQL ({@code MSS_TEST_POSTGRES_URL}, by
 * default 127.0.0.1:5432/test as postgres). Each test gets its own schema, named after its
 * temporary directory, so that reopening finds the same data and tests never see each other.
 */
class PostgresStoreTest extends OplogStoreContract<PostgresStore> {

    static final String URL = System.getenv().getOrDefault("MSS_TEST_POSTGRES_URL",
            "jdbc:postgresql://127.0.0.1:5432/test");
    static final String USER = System.getenv().getOrDefault("MSS_TEST_POSTGRES_USER", "postgres");
    static final String PASSWORD = System.getenv().getOrDefault("MSS_TEST_POSTGRES_PASSWORD", "");

    private static final String RUN = "contract_" + ProcessHandle.current().pid() + "_";
    private static final Map<Path, String> SCHEMAS = new ConcurrentHashMap<>();

    @Override
    protected PostgresStore open(Path dir) {
        String schema = SCHEMAS.computeIfAbsent(dir, d -> RUN + SCHEMAS.size());
        return PostgresStore.open(PostgresStore.Options.of(URL, USER, PASSWORD, schema));
    }

    @AfterAll
    static void dropSchemas() {
        SCHEMAS.values().forEach(schema -> PostgresStore.dropSchema(URL, USER, PASSWORD, schema));
    }
}
