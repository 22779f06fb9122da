package io.mss.bench;

import io.mss.bench.targets.Pinning;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the report says about where it ran. */
final class Machine {
    private Machine() {
    }

    static Map<String, Object> describe(boolean smoke, Pinning pinning, int runs) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", smoke ? "smoke (tiny sizes)" : "full");
        m.put("runs", runs == 1 ? "1" : runs + " of each scenario against every target; medians below each run's tables");
        m.put("placement", pinning.describe());
        m.put("date", Instant.now().toString());
        // pinned, this JVM sees only the load generator's CPU: the machine's count comes from the kernel
        m.put("cores", onlineCpus());
        m.put("generatorCores", Runtime.getRuntime().availableProcessors());
        m.put("memory", memory());
        m.put("cpu", cpuModel());
        m.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("mosquitto", version("mosquitto", "-h"));
        m.put("natsServer", version("nats-server", "-v"));
        return m;
    }

    /** {@code 2 (CPUs 0-1)}, from the kernel's list of online CPUs ({@code 0-1}, {@code 0,2-3}). */
    private static String onlineCpus() {
        try {
            String online = Files.readString(Path.of("/sys/devices/system/cpu/online")).trim();
            int count = 0;
            for (String range : online.split(",")) {
                String[] ends = range.split("-");
                count += ends.length == 1 ? 1 : Integer.parseInt(ends[1]) - Integer.parseInt(ends[0]) + 1;
            }
            return count + " (CPUs " + online + ")";
        } catch (IOException | RuntimeException e) {
            return String.valueOf(Runtime.getRuntime().availableProcessors());
        }
    }

    private static String memory() {
        try {
            return Files.readAllLines(Path.of("/proc/meminfo")).get(0).replaceAll("\\s+", " ");
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String version(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            return out.lines().filter(l -> !l.isBlank()).findFirst().orElse("unknown").trim();
        } catch (IOException e) {
            return "not installed";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }
}
