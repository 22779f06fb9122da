package io.mss.e2e;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A PostgreSQL cluster and a Redis of the test's own, on free ports, so that a test can stop
 * and start them without touching the machine's shared services. PostgreSQL refuses to run as
 * root: its tools run as the {@code postgres} user, on a data dir that user owns.
 */
final class PrivateServices implements AutoCloseable {
    private static final Path PG_BIN = postgresBin();

    /** MSS_TEST_PG_BIN, else the newest Debian PostgreSQL install (/usr/lib/postgresql/N/bin). */
    private static Path postgresBin() {
        String configured = System.getenv("MSS_TEST_PG_BIN");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        Path installs = Path.of("/usr/lib/postgresql");
        try (java.util.stream.Stream<Path> versions = java.nio.file.Files.list(installs)) {
            return versions.map(version -> version.resolve("bin"))
                    .filter(bin -> java.nio.file.Files.isExecutable(bin.resolve("initdb")))
                    .max(java.util.Comparator.comparingInt(bin -> versionOf(bin.getParent())))
                    .orElseThrow(() -> new IllegalStateException("no PostgreSQL with initdb under " + installs
                            + "; set MSS_TEST_PG_BIN"));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("no PostgreSQL under " + installs + "; set MSS_TEST_PG_BIN", e);
        }
    }

    private static int versionOf(Path install) {
        try {
            return Integer.parseInt(install.getFileName().toString());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    final Path dir;
    final int postgresPort;
    final int redisPort;
    private Process redis;
    private boolean postgresRunning;

    private PrivateServices(Path dir) throws IOException {
        this.dir = dir;
        this.postgresPort = freePort();
        this.redisPort = freePort();
    }

    static PrivateServices start() throws Exception {
        // outside JUnit's temp dir: its parents are not open to the postgres user
        Path dir = Files.createTempDirectory("mss-services-");
        PrivateServices services = new PrivateServices(dir);
        try {
            run("chown", "postgres:postgres", dir.toString());
            asPostgres(PG_BIN.resolve("initdb").toString(), "-D", services.pgData(), "-A", "trust", "-U", "postgres",
                    "--no-sync", "-E", "UTF8");
            services.startPostgres();
            services.startRedis();
            return services;
        } catch (Exception e) {
            services.close();
            throw e;
        }
    }

    String postgresUrl() {
        return "jdbc:postgresql://127.0.0.1:" + postgresPort + "/postgres";
    }

    String redisUri() {
        return "redis://127.0.0.1:" + redisPort;
    }

    void startPostgres() throws Exception {
        asPostgres(PG_BIN.resolve("pg_ctl").toString(), "-D", pgData(), "-l", dir.resolve("postgres.log").toString(),
                "-w", "-t", "60", "-o", "-p " + postgresPort + " -k " + dir + " -c listen_addresses=127.0.0.1"
                        + " -c fsync=off", "start");
        postgresRunning = true;
    }

    void stopPostgres() throws Exception {
        asPostgres(PG_BIN.resolve("pg_ctl").toString(), "-D", pgData(), "-w", "-t", "60", "-m", "immediate", "stop");
        postgresRunning = false;
    }

    void startRedis() throws IOException {
        redis = new ProcessBuilder("redis-server", "--port", String.valueOf(redisPort), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()))
                .start();
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", redisPort)) {
                return true;
            }
        });
    }

    void stopRedis() throws InterruptedException {
        if (redis != null) {
            redis.destroy();
            if (!redis.waitFor(10, TimeUnit.SECONDS)) {
                redis.destroyForcibly().waitFor();
            }
            redis = null;
        }
    }

    private String pgData() {
        return dir.resolve("pgdata").toString();
    }

    private static void asPostgres(String... command) throws Exception {
        List<String> full = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
        full.addAll(List.of(command));
        run(full.toArray(String[]::new));
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(90, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n" + output);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        stopRedis();
        if (postgresRunning) {
            stopPostgres();
        }
        run("rm", "-rf", dir.toString());
    }
}
