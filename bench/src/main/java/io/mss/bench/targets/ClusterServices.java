package io.mss.bench.targets;

import io.mss.server.store.postgres.PostgresStore;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The PostgreSQL and Redis a cluster run shares with whatever else uses them on this machine. Each
 * run gets its own schema (created by the nodes, dropped after) and its own Redis key prefix, and
 * its own PostgreSQL application name so that its backends can be told apart from other clients'.
 */
public record ClusterServices(String postgresUrl, String postgresUser, String redisUri) {
    private static final AtomicInteger RUNS = new AtomicInteger();

    /** A fresh schema / cluster name / application name for one cluster run. */
    public static String freshName() {
        return "bench_" + ProcessHandle.current().pid() + "_" + RUNS.incrementAndGet();
    }

    /** The JDBC URL the nodes of one run use: their connections carry the run's application name. */
    public String postgresUrlFor(String applicationName) {
        return postgresUrl + (postgresUrl.contains("?") ? "&" : "?") + "ApplicationName=" + applicationName;
    }

    /** Why the services cannot be used, or empty when PostgreSQL and Redis both answer. */
    public Optional<String> unreachable() {
        List<String> problems = new ArrayList<>();
        try (Connection connection = connect(postgresUrl)) {
            if (!connection.isValid(3)) {
                problems.add("PostgreSQL at " + postgresUrl + " accepted a connection but does not answer");
            }
        } catch (SQLException e) {
            problems.add("PostgreSQL at " + postgresUrl + " (user " + postgresUser + ") is not reachable: " + e.getMessage());
        }
        try {
            String pong = redisPing();
            if (!pong.startsWith("+PONG")) {
                problems.add("Redis at " + redisUri + " answered PING with '" + pong.trim() + "'");
            }
        } catch (IOException | RuntimeException e) {
            problems.add("Redis at " + redisUri + " is not reachable: " + e.getMessage());
        }
        return problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems));
    }

    private Connection connect(String url) throws SQLException {
        DriverManager.setLoginTimeout(3);
        return DriverManager.getConnection(url, postgresUser, "");
    }

    private String redisPing() throws IOException {
        URI uri = URI.create(redisUri);
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort() > 0 ? uri.getPort() : 6379), 3000);
            socket.setSoTimeout(3000);
            OutputStream out = socket.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[64];
            int n = in.read(buffer);
            return n <= 0 ? "" : new String(buffer, 0, n, StandardCharsets.US_ASCII);
        }
    }

    public int redisPort() {
        int port = URI.create(redisUri).getPort();
        return port > 0 ? port : 6379;
    }

    /**
     * The PostgreSQL processes that work for one run: its client backends (by application name) and the
     * server's own background processes (WAL writer, checkpointer...), which do part of every commit's
     * work. Other clients' backends are left out.
     */
    public List<Long> postgresPids(String applicationName) {
        List<Long> pids = new ArrayList<>();
        try (Connection connection = connect(postgresUrl);
             PreparedStatement query = connection.prepareStatement(
                     "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend' OR application_name = ?")) {
            query.setString(1, applicationName);
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    pids.add(rows.getLong(1));
                }
            }
        } catch (SQLException e) {
            // no figure for PostgreSQL then; the run itself goes on
        }
        return pids;
    }

    /** The Redis server's process (found by its command line naming the port), or -1 when it is not on this machine. */
    public long redisPid() {
        String port = ":" + redisPort();
        try (var dirs = java.nio.file.Files.list(java.nio.file.Path.of("/proc"))) {
            for (java.nio.file.Path dir : (Iterable<java.nio.file.Path>) dirs::iterator) {
                String name = dir.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String command = new String(java.nio.file.Files.readAllBytes(dir.resolve("cmdline")), StandardCharsets.UTF_8)
                            .replace('\0', ' ');
                    if (command.contains("redis-server") && command.contains(port)) {
                        return Long.parseLong(name);
                    }
                } catch (IOException gone) {
                    // the process ended while we looked
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }

    /** Drops a run's schema; a failure is reported, not thrown: the figures are already taken. */
    public void dropSchema(String schema) {
        try {
            PostgresStore.dropSchema(postgresUrl, postgresUser, "", schema);
        } catch (RuntimeException e) {
            System.err.println("bench: could not drop schema " + schema + ": " + e.getMessage());
        }
    }
}
