package io.mss.e2e;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * The highly available services of a cluster, private to one test and on free ports: etcd, two
 * PostgreSQL instances under Patroni (a primary and a synchronous standby), Redis with a replica
 * and three sentinels. Started and stopped by {@code deploy/cluster/local-ha}, the script behind
 * {@code ./mss cluster up}, in a work directory of the test's own; a part is killed here by its
 * pid with SIGKILL and started again through the script.
 */
final class HaServices implements AutoCloseable {
    private static final Path SCRIPT = Path.of(System.getProperty("mss.root", ".."), "deploy", "cluster", "local-ha")
            .toAbsolutePath().normalize();

    final Path dir;
    final String name;
    private final Map<String, String> env = new HashMap<>();
    final int pg1;
    final int pg2;
    final int patroni1;
    final int patroni2;
    final int[] sentinels = new int[3];
    final int redis1;
    final int redis2;

    private HaServices(Path dir) throws IOException {
        this.dir = dir;
        this.name = "ha" + ProcessHandle.current().pid() + dir.getFileName().toString().replaceAll("[^a-z0-9]", "");
        env.put("MSS_HA_DIR", dir.toString());
        env.put("MSS_HA_NAME", name);
        env.put("MSS_HA_ETCD_PORT", String.valueOf(freePort()));
        env.put("MSS_HA_ETCD_PEER_PORT", String.valueOf(freePort()));
        pg1 = put("MSS_HA_PG1_PORT");
        pg2 = put("MSS_HA_PG2_PORT");
        patroni1 = put("MSS_HA_PATRONI1_PORT");
        patroni2 = put("MSS_HA_PATRONI2_PORT");
        redis1 = put("MSS_HA_REDIS1_PORT");
        redis2 = put("MSS_HA_REDIS2_PORT");
        for (int i = 0; i < 3; i++) {
            sentinels[i] = put("MSS_HA_SENTINEL" + (i + 1) + "_PORT");
        }
    }

    private int put(String variable) throws IOException {
        int port = freePort();
        env.put(variable, String.valueOf(port));
        return port;
    }

    /** Fails with one line naming what to install when a service's package is missing. */
    static void requireInstalled() {
        List<String> missing = new ArrayList<>();
        for (String[] tool : new String[][]{{"etcd", "etcd-server"}, {"patroni", "patroni"},
                {"redis-sentinel", "redis-sentinel"}, {"redis-server", "redis-server"}}) {
            if (!onPath(tool[0])) {
                missing.add(tool[1]);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException("HA tests need " + String.join(", ", missing) + ": apt-get install -y "
                    + String.join(" ", missing));
        }
    }

    private static boolean onPath(String tool) {
        for (String entry : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(entry, tool))) {
                return true;
            }
        }
        return false;
    }

    static HaServices start() throws Exception {
        requireInstalled();
        // outside JUnit's temp dir: its parents are not open to the postgres user
        HaServices services = new HaServices(Files.createTempDirectory("mss-ha-"));
        long started = System.nanoTime();
        try {
            services.script("services");
            long up = System.nanoTime();
            services.awaitSyncStandby();
            System.out.printf("ha services: up in %d ms, synchronous standby after %d ms more%n",
                    (up - started) / 1_000_000, (System.nanoTime() - up) / 1_000_000);
            return services;
        } catch (Exception e) {
            services.close();
            throw e;
        }
    }

    String postgresUrl() {
        return "jdbc:postgresql://127.0.0.1:" + pg1 + ",127.0.0.1:" + pg2 + "/postgres?targetServerType=primary&hostRecheckSeconds=2";
    }

    String redisUri() {
        return "redis-sentinel://127.0.0.1:" + sentinels[0] + ",127.0.0.1:" + sentinels[1] + ",127.0.0.1:"
                + sentinels[2] + "#" + name;
    }

    /** "pg1" or "pg2": whichever Patroni says is the primary now. */
    String primary() {
        if (answers(patroni1, "/primary")) {
            return "pg1";
        }
        return answers(patroni2, "/primary") ? "pg2" : null;
    }

    /** What both Patroni members say of themselves ("pg1 replica/running, pg2 ..."), for the test's output. */
    String members() {
        return "pg1 " + member(patroni1) + ", pg2 " + member(patroni2);
    }

    private static String member(int port) {
        try {
            HttpURLConnection connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/patroni")
                    .toURL().openConnection();
            connection.setConnectTimeout(500);
            connection.setReadTimeout(1000);
            try {
                String body = new String(connection.getInputStream().readAllBytes());
                return field(body, "role") + "/" + field(body, "state");
            } finally {
                connection.disconnect();
            }
        } catch (IOException e) {
            return "not answering";
        }
    }

    private static String field(String json, String name) {
        java.util.regex.Matcher matcher = java.util.regex.Pattern.compile("\"" + name + "\": ?\"([^\"]*)\"")
                .matcher(json);
        return matcher.find() ? matcher.group(1) : "?";
    }

    /** Waits until Patroni reports a synchronous standby: a commit is then on both before it returns. */
    void awaitSyncStandby() {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                .until(() -> answers(patroni1, "/sync") || answers(patroni2, "/sync"));
    }

    /**
     * Waits until the setup is whole after a test restarted what it killed: a primary with a
     * synchronous standby, and a Redis master the sentinels agree on with a replica connected.
     */
    void awaitWhole() {
        awaitSyncStandby();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
            try {
                int master = redisMaster();
                return redisCli(master, "info", "replication").contains("connected_slaves:1");
            } catch (Exception e) {
                return false;
            }
        });
    }

    /** SIGKILL of a part's process (for pgN: its Patroni and its postmaster, as when its machine dies). */
    void kill(String part) throws Exception {
        List<Long> pids = new ArrayList<>();
        pids.add(Long.parseLong(Files.readString(dir.resolve("run").resolve(part + ".pid")).trim()));
        if (part.startsWith("pg")) {
            Path postmaster = dir.resolve("data").resolve(part).resolve("postmaster.pid");
            if (Files.exists(postmaster)) {
                pids.add(Long.parseLong(Files.readAllLines(postmaster).get(0).trim()));
            }
        }
        for (long pid : pids) {
            // the process itself and what it started (runuser -> patroni), by pid
            ProcessHandle.of(pid).ifPresent(handle -> {
                handle.descendants().forEach(child -> run("kill", "-KILL", String.valueOf(child.pid())));
                run("kill", "-KILL", String.valueOf(pid));
            });
        }
        for (long pid : pids) {
            await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
        }
        if (part.startsWith("pg")) {
            // the backends of a SIGKILLed postmaster end when they notice it is gone; wait for the port
            int port = part.equals("pg1") ? pg1 : pg2;
            await().atMost(Duration.ofSeconds(30)).until(() -> !listening(port));
        }
    }

    /** Starts a part again through the script (a killed PostgreSQL comes back as a standby). */
    void restart(String part) throws Exception {
        script("start", part);
    }

    /** The Redis master's port as the sentinels report it. */
    int redisMaster() throws Exception {
        String[] lines = redisCli(sentinels[0], "sentinel", "get-master-addr-by-name", name).trim().split("\n");
        return Integer.parseInt(lines[lines.length - 1].trim());
    }

    private static String redisCli(int port, String... command) throws Exception {
        List<String> line = new ArrayList<>(List.of("redis-cli", "-p", String.valueOf(port)));
        line.addAll(List.of(command));
        Process process = new ProcessBuilder(line).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        process.waitFor(10, TimeUnit.SECONDS);
        return output;
    }

    private void script(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(SCRIPT.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(180, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n" + output);
        }
    }

    private static boolean answers(int port, String path) {
        try {
            HttpURLConnection connection = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL()
                    .openConnection();
            connection.setConnectTimeout(500);
            connection.setReadTimeout(1000);
            try {
                return connection.getResponseCode() == 200;
            } finally {
                connection.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean listening(int port) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void run(String... command) {
        try {
            new ProcessBuilder(command).redirectErrorStream(true).start().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", command) + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        long started = System.nanoTime();
        try {
            script("down");
            System.out.printf("ha services: down in %d ms%n", (System.nanoTime() - started) / 1_000_000);
        } finally {
            new ProcessBuilder("rm", "-rf", dir.toString()).start().waitFor(60, TimeUnit.SECONDS);
        }
    }
}
