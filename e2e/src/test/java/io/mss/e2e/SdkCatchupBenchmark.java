package io.mss.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The SDK catching up a backlog: a benchmark, not a test (its name keeps it out of the default
 * run). The server runs as its own JVM; each catch-up runs in a fresh JVM of its own with a fresh
 * state directory and a new deviceId (USER bizTypes with multiDevice: every device gets the
 * whole retained backlog). Sizes, runs and the client heap cap are system properties:
 * <pre>
 * ./mvnw -B -o -pl e2e -am test -Dtest=SdkCatchupBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dmss.bench.oplogs=10000,100000 -Dmss.bench.runs=3
 * </pre>
 * Each size starts with {@code mss.bench.warmups} untimed runs (default 1) that warm the server.
 * {@code mss.bench.jvmWarmups} (default 0) untimed catch-ups run inside each client JVM before its
 * timed one, so that the timed one measures the SDK with the JIT warm rather than a fresh JVM.
 * {@code mss.bench.tls=conscrypt} runs the clients' TLS on Conscrypt, as on Android.
 * Fsyncs are counted in one extra run per size under {@code strace -f -c} (seccomp-filtered, so
 * only fsync and fdatasync stop the process); that run is not timed.
 */
class SdkCatchupBenchmark {
    /** USER bizTypes the backlog is spread over evenly, one scope each: the SDK delivers scopes in parallel. */
    static final int BIZ_TYPES = Integer.getInteger("mss.bench.bizTypes", 10);
    private static final int PAYLOAD_CHARS = 100;

    @TempDir
    Path tmp;

    static String bizType(int i) {
        return "BENCH-" + i;
    }

    @Test
    void catchUp() throws Exception {
        List<Integer> sizes = new ArrayList<>();
        for (String s : System.getProperty("mss.bench.oplogs", "10000").split(",")) {
            sizes.add(Integer.parseInt(s.trim()));
        }
        int runs = Integer.getInteger("mss.bench.runs", 3);
        int warmups = Integer.getInteger("mss.bench.warmups", 1);
        String clientHeap = System.getProperty("mss.bench.clientXmx", "1g");
        int jvmWarmups = Integer.getInteger("mss.bench.jvmWarmups", 0);
        StringBuilder report = new StringBuilder("| oplogs | runs | median ms | runs ms | oplogs/s | fsyncs per 1,000 oplogs"
                + " | median peak heap after GC (MiB) | median client CPU ms (runs) | median SDK threads CPU ms |\n"
                + "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        try (ServerProcess server = new ServerProcess(tmp.resolve("server"), Files.createDirectories(tmp.resolve("logs")))) {
            String serverJvmArgs = System.getProperty("mss.bench.serverJvmArgs", "").trim();
            if (!serverJvmArgs.isEmpty()) {
                server.env.put("JAVA_TOOL_OPTIONS", serverJvmArgs);
            }
            server.start();
            Api api = server.api();
            for (int b = 0; b < BIZ_TYPES; b++) {
                Map<String, Object> biz = new LinkedHashMap<>();
                biz.put("id", bizType(b));
                biz.put("range", "APPOINTED");
                biz.put("target", "USER");
                biz.put("multiDevice", true);
                Api.Answer a = api.post("/api/v1/biz-types", biz);
                if (a.status() != 201) {
                    throw new IllegalStateException("cannot create " + bizType(b) + ": " + a);
                }
            }
            String payload = "x".repeat(PAYLOAD_CHARS);
            for (int size : sizes) {
                String user = "bench-user-" + size;
                fill(api, user, size, payload);
                // the server's first catch-up of a backlog runs its catch-up path cold (JIT, block
                // cache): untimed, so that the timed runs measure the SDK
                for (int w = 0; w < warmups; w++) {
                    runClient(server, user, size, "d-" + size + "-warmup-" + w, clientHeap, 0, null);
                }
                List<Long> millis = new ArrayList<>();
                List<Long> heaps = new ArrayList<>();
                List<Long> cpus = new ArrayList<>();
                List<Long> sdkCpus = new ArrayList<>();
                for (int run = 0; run < runs; run++) {
                    long[] r = runClient(server, user, size, "d-" + size + "-" + run, clientHeap, jvmWarmups, null);
                    millis.add(r[0]);
                    heaps.add(r[1]);
                    cpus.add(r[2]);
                    sdkCpus.add(r[3]);
                    System.out.println("catch-up of " + size + ": " + r[0] + " ms, peak heap after GC " + r[1]
                            + ", client CPU " + r[2] + " ms, SDK threads " + r[3] + " ms");
                }
                Path straceOut = tmp.resolve("strace-" + size + ".txt");
                runClient(server, user, size, "d-" + size + "-strace", clientHeap, 0, straceOut); // fsyncs of one catch-up
                long fsyncs = fsyncs(straceOut);
                long medianMs = median(millis);
                report.append("| ").append(size).append(" | ").append(runs).append(" | ").append(medianMs)
                        .append(" | ").append(millis).append(" | ").append(size * 1000L / Math.max(1, medianMs))
                        .append(" | ").append(String.format("%.1f", fsyncs * 1000.0 / size))
                        .append(" | ").append(String.format("%.1f", median(heaps) / 1048576.0))
                        .append(" | ").append(median(cpus)).append(" (").append(cpus.stream().map(String::valueOf)
                                .collect(java.util.stream.Collectors.joining(", "))).append(")")
                        .append(" | ").append(median(sdkCpus)).append(" |\n");
            }
        }
        report.append("\nClient TLS provider: ").append(System.getProperty("mss.bench.tls", "jdk")).append(".\n");
        if (jvmWarmups > 0) {
            report.append("\nEach timed catch-up ran after ").append(jvmWarmups)
                    .append(" untimed ones in the same client JVM.\n");
        }
        System.out.println(report);
        Path out = Path.of("target", "sdk-catchup.md");
        Files.writeString(out, report);
    }

    private static void fill(Api api, String user, int size, String payload) {
        int perBiz = size / BIZ_TYPES;
        for (int b = 0; b < BIZ_TYPES; b++) {
            for (int done = 0; done < perBiz; done += 1000) {
                int n = Math.min(1000, perBiz - done);
                List<Map<String, Object>> orders = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    orders.add(Map.of("bizType", bizType(b), "linkToken", user, "payload", payload));
                }
                Api.Answer a = api.post("/api/v1/push/batch", Map.of("orders", orders));
                if (a.status() != 200 || a.body().path("failed").asInt() != 0) {
                    throw new IllegalStateException("batch push failed: " + a);
                }
            }
        }
    }

    /** @return {millis, peak heap after GC in bytes, process CPU ms, SDK threads' CPU ms} */
    private long[] runClient(ServerProcess server, String user, int size, String device, String heap,
            int jvmWarmups, Path strace)
            throws Exception {
        List<String> command = new ArrayList<>();
        if (strace != null) {
            command.addAll(Arrays.asList("strace", "-f", "--seccomp-bpf", "-c", "-e", "trace=fsync,fdatasync",
                    "-o", strace.toString()));
        }
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // e.g. -Dmss.bench.clientJvmArgs=-XX:StartFlightRecording=filename={device}.jfr to profile each client
        String jvmArgs = System.getProperty("mss.bench.clientJvmArgs", "").trim().replace("{device}", device);
        if (!jvmArgs.isEmpty()) {
            command.addAll(Arrays.asList(jvmArgs.split("\\s+")));
        }
        // -Dmss.bench.tls=conscrypt: the client's TLS by Conscrypt, Android's provider, not the JDK's
        command.add("-Dmss.bench.tls=" + System.getProperty("mss.bench.tls", "jdk"));
        command.add("-Dmss.bench.threads=" + Boolean.getBoolean("mss.bench.threads"));
        command.addAll(Arrays.asList("-Xmx" + heap, "-cp", System.getProperty("java.class.path"),
                SdkCatchupBench.class.getName(),
                "localhost", String.valueOf(server.syncPort), server.certFile().toString(),
                tmp.resolve("state-" + device).toString(), device, user, String.valueOf(BIZ_TYPES),
                String.valueOf(size / BIZ_TYPES * BIZ_TYPES), TestServer.token(device, user)));
        for (int w = 0; w < jvmWarmups; w++) {
            String warm = device + "-jvm-warmup-" + w;
            command.addAll(Arrays.asList(warm, TestServer.token(warm, user)));
        }
        File log = tmp.resolve("client-" + device + ".log").toFile();
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log).start();
        if (!p.waitFor(11, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("catch-up did not finish; see " + log);
        }
        String text = Files.readString(log.toPath());
        Matcher m = Pattern.compile("RESULT (\\d+) (\\d+) (\\d+) (\\d+)").matcher(text);
        if (p.exitValue() != 0 || !m.find()) {
            throw new IllegalStateException("catch-up failed (" + p.exitValue() + "):\n" + text);
        }
        Matcher threads = Pattern.compile("THREAD .*").matcher(text);
        while (threads.find()) {
            System.out.println(device + " " + threads.group());
        }
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
                Long.parseLong(m.group(4))};
    }

    /** The calls column of fsync and fdatasync in strace's -c summary. */
    private static long fsyncs(Path straceOut) throws Exception {
        long calls = 0;
        Pattern row = Pattern.compile("^\\s*[\\d.]+\\s+[\\d.]+\\s+\\d+\\s+(\\d+)\\s+(?:\\d+\\s+)?(fsync|fdatasync)\\s*$");
        for (String line : Files.readAllLines(straceOut)) {
            Matcher m = row.matcher(line);
            if (m.find()) {
                calls += Long.parseLong(m.group(1));
            }
        }
        return calls;
    }

    private static long median(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }
}
