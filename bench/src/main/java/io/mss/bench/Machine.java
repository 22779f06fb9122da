package io.mss.bench;

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

    static Map<String, Object> describe(boolean smoke) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", smoke ? "smoke (tiny sizes)" : "full");
        m.put("date", Instant.now().toString());
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("memory", memory());
        m.put("cpu", cpuModel());
        m.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("mosquitto", version("mosquitto", "-h"));
        m.put("natsServer", version("nats-server", "-v"));
        return m;
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
