package io.mss.e2e;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code ./mss cluster up} as a person evaluating the HA cluster runs it, on a port base and a
 * work directory of the test's own: every process it starts runs, a push through one MSS node
 * reaches a device on another, the cluster still delivers with one MSS node SIGKILLed, and
 * {@code ./mss cluster down} stops exactly what {@code up} started (every pid, and what those
 * processes started, checked gone). Nothing of it is on a standard port (5432, 6379, 2379, 26379).
 */
class LocalHaClusterTest {
    private static final Path ROOT = Path.of(System.getProperty("mss.root", "..")).toAbsolutePath().normalize();
    private static final List<String> PARTS = List.of("etcd", "pg1", "pg2", "redis1", "redis2", "sentinel1",
            "sentinel2", "sentinel3", "mss1", "mss2", "mss3");
    /** The script's layout from a port base: the MSS nodes' sync ports at +11..13, HTTP at +14..16, WebSocket at +17..19. */
    private static final int PORTS = 20;

    @Test
    void upStartsEveryPartAndDownStopsExactlyThose() throws Exception {
        HaServices.requireInstalled();
        // outside JUnit's temp dir: its parents are not open to the postgres user
        Path dir = Files.createTempDirectory("mss-ha-up-");
        int base = freePortBase();
        Map<String, String> env = new LinkedHashMap<>();
        env.put("MSS_HA_NAME", "up" + ProcessHandle.current().pid());
        // the nodes run this build's classes, as the other process tests do (./mss would build them first)
        env.put("MSS_HA_MSS_COMMAND", Path.of(System.getProperty("java.home"), "bin", "java") + " -Xmx256m -cp "
                + System.getProperty("mss.server.classpath") + java.io.File.pathSeparator
                + System.getProperty("java.class.path") + " io.mss.cli.Main");
        // the secrets the test's devices and API calls use
        Files.writeString(dir.resolve("secrets.env"), "MSS_API_KEY=" + TestServer.API_KEY + "\nMSS_TOKEN_SECRET="
                + TestServer.TOKEN_SECRET + "\n");
        DeliveryChecker checker = new DeliveryChecker();
        List<Device> devices = new ArrayList<>();
        boolean down = false;
        try {
            long started = System.nanoTime();
            String up = mss(env, "cluster", "up", "--dir", dir.toString(), "--port-base", String.valueOf(base));
            System.out.printf("local HA cluster: up in %d ms%n%s", (System.nanoTime() - started) / 1_000_000, up);
            for (int port : portsIn(up)) {
                assertThat(port).as("every port printed is of the base's range:\n%s", up)
                        .isBetween(base, base + PORTS - 1);
            }

            Map<String, Long> pids = status(env, dir);
            assertThat(pids.keySet()).as("status lists every part up").containsExactlyInAnyOrderElementsOf(PARTS);
            // what down must stop: the parts, what they started (Patroni's postmaster and backends), by pid
            List<ProcessHandle> started2 = new ArrayList<>();
            for (long pid : pids.values()) {
                ProcessHandle.of(pid).ifPresent(handle -> {
                    started2.add(handle);
                    handle.descendants().forEach(started2::add);
                });
            }
            for (String pg : List.of("pg1", "pg2")) {
                long postmaster = Long.parseLong(Files.readAllLines(dir.resolve("data").resolve(pg)
                        .resolve("postmaster.pid")).get(0).trim());
                ProcessHandle.of(postmaster).ifPresent(started2::add);
            }

            Api node1 = new Api("http://127.0.0.1:" + (base + 14), TestServer.API_KEY);
            Api node3 = new Api("http://127.0.0.1:" + (base + 16), TestServer.API_KEY);
            node1.createBizType("ORDER", "APPOINTED", "USER");
            java.io.File cert = dir.resolve("mss1").resolve("tls").resolve("server.crt").toFile();
            Device onNode2 = new Device("phone", "alice", base + 12, cert, dir.resolve("state-phone"), checker, "ORDER");
            devices.add(onNode2);
            onNode2.client.appToForeground();
            await().atMost(Duration.ofSeconds(30)).until(() -> onNode2.client.isConnected());

            Api.Answer first = node1.push("ORDER", "alice", "through-mss1", null);
            assertThat(first.status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(15)).until(() -> onNode2.received.stream()
                    .anyMatch(m -> m.payload().equals("through-mss1")));

            // SIGKILL of the node the first push went through: the others go on
            kill(pids.get("mss1"));
            Api.Answer second = node3.push("ORDER", "alice", "through-mss3", null);
            assertThat(second.status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(15)).until(() -> onNode2.received.stream()
                    .anyMatch(m -> m.payload().equals("through-mss3")));
            assertThat(status(env, dir).keySet()).as("status no longer lists the killed node")
                    .doesNotContain("mss1").contains("mss2", "mss3");

            onNode2.close();
            devices.clear();
            long stopping = System.nanoTime();
            mss(env, "cluster", "down", "--dir", dir.toString());
            down = true;
            System.out.printf("local HA cluster: down in %d ms%n", (System.nanoTime() - stopping) / 1_000_000);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(started2)
                    .as("processes up started, still alive after down").noneMatch(ProcessHandle::isAlive));
            assertThat(status(env, dir)).as("status after down").isEmpty();
        } catch (Exception | AssertionError e) {
            printLogs(dir.resolve("logs"));
            throw e;
        } finally {
            for (Device device : devices) {
                device.close();
            }
            if (!down) {
                mss(env, "cluster", "down", "--dir", dir.toString());
            }
            new ProcessBuilder("rm", "-rf", dir.toString()).start().waitFor(60, TimeUnit.SECONDS);
        }
    }

    /** What the parts logged, for a failure's report (the work directory goes with the test). */
    private static void printLogs(Path logs) throws IOException {
        if (!Files.isDirectory(logs)) {
            return;
        }
        try (var files = Files.list(logs)) {
            for (Path log : (Iterable<Path>) files.sorted()::iterator) {
                List<String> lines = Files.readAllLines(log, java.nio.charset.StandardCharsets.ISO_8859_1);
                System.out.printf("---- %s (last 40 lines)%n%s%n", log.getFileName(),
                        String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size())));
            }
        }
    }

    /** A base whose 20 ports are free now, away from the standard ones and the ephemeral range. */
    private static int freePortBase() {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = ThreadLocalRandom.current().nextInt(20_000, 30_000);
            boolean free = true;
            for (int port = base; port < base + PORTS && free; port++) {
                try (ServerSocket socket = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
                    socket.setReuseAddress(true);
                } catch (IOException taken) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new IllegalStateException("no " + PORTS + " free ports in a row between 20000 and 30000");
    }

    /** The ports in the output of {@code up} (host:port, :port). */
    private static List<Integer> portsIn(String output) {
        List<Integer> ports = new ArrayList<>();
        Matcher matcher = Pattern.compile(":([0-9]{2,5})\\b").matcher(output);
        while (matcher.find()) {
            ports.add(Integer.parseInt(matcher.group(1)));
        }
        assertThat(ports).as("up prints where everything is:\n%s", output).isNotEmpty();
        return ports;
    }

    /** Part name -> pid, from {@code ./mss cluster status}. */
    private static Map<String, Long> status(Map<String, String> env, Path dir) throws Exception {
        Map<String, Long> pids = new LinkedHashMap<>();
        Matcher line = Pattern.compile("(?m)^(\\S+) running \\(pid ([0-9]+)\\)$")
                .matcher(mss(env, "cluster", "status", "--dir", dir.toString()));
        while (line.find()) {
            pids.put(line.group(1), Long.parseLong(line.group(2)));
        }
        return pids;
    }

    private static void kill(long pid) {
        ProcessHandle handle = ProcessHandle.of(pid).orElseThrow();
        handle.destroyForcibly(); // SIGKILL
        await().atMost(Duration.ofSeconds(10)).until(() -> !handle.isAlive());
    }

    private static String mss(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(ROOT.resolve("mss").toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(300, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n" + output);
        }
        return output;
    }
}
