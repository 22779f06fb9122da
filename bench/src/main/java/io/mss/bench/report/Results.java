package io.mss.bench.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The output of a run: a JSON file and PNG charts per scenario, and {@code report.md} with a table per
 * scenario (each target, and MSS / peer ratios) ready to paste into BENCHMARKS.md.
 */
public final class Results {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final List<String> PERCENTILES = List.of("p50Ms", "p99Ms", "p999Ms", "maxMs");

    private final Path dir;
    private final Map<String, Object> machine;
    private final StringBuilder report = new StringBuilder();

    public Results(Path dir, Map<String, Object> machine) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.machine = machine;
        report.append("<!-- written by ./mss bench; paste into BENCHMARKS.md -->\n\n");
        machine.forEach((key, value) -> report.append("- ").append(key).append(": ").append(value).append('\n'));
        report.append('\n');
    }

    /** Writes {@code <scenario>.json}, its charts, and its section of report.md. */
    public void scenario(String name, Map<String, Boolean> headline, Map<String, Map<String, Object>> byTarget,
                         Map<String, List<Long>> throughput) throws IOException {
        Map<String, Object> file = new LinkedHashMap<>();
        file.put("scenario", name);
        file.put("machine", machine);
        file.put("targets", byTarget);
        file.put("deliveredPerSecond", throughput);
        JSON.writeValue(dir.resolve(name + ".json").toFile(), file);
        latencyChart(name, byTarget);
        throughputChart(name, throughput);
        table(name, headline, byTarget);
        Files.writeString(dir.resolve("report.md"), report);
    }

    /** A paragraph under the last scenario's section of report.md. */
    public void note(String text) throws IOException {
        report.append(text).append("\n\n");
        Files.writeString(dir.resolve("report.md"), report);
    }

    private void table(String name, Map<String, Boolean> headline, Map<String, Map<String, Object>> byTarget) {
        report.append("### ").append(name).append("\n\n| target |");
        headline.keySet().forEach(k -> report.append(' ').append(k).append(" |"));
        report.append("\n|---|");
        headline.keySet().forEach(k -> report.append("---:|"));
        report.append('\n');
        for (var entry : byTarget.entrySet()) {
            report.append("| ").append(entry.getKey()).append(" |");
            for (String key : headline.keySet()) {
                report.append(' ').append(format(value(entry.getValue(), key))).append(" |");
            }
            report.append('\n');
        }
        Map<String, Object> mss = byTarget.get("mss");
        if (mss != null && mss.get("error") == null) {
            for (var entry : byTarget.entrySet()) {
                if (entry.getKey().startsWith("mss") || entry.getValue().get("error") != null) {
                    continue;
                }
                report.append("| MSS / ").append(entry.getKey()).append(" |");
                for (String key : headline.keySet()) {
                    Double a = number(value(mss, key));
                    Double b = number(value(entry.getValue(), key));
                    String ratio = a == null || b == null || b == 0 ? "–" : String.format(Locale.ROOT, "%.2f×", a / b);
                    report.append(' ').append(ratio).append(" |");
                }
                report.append('\n');
            }
            report.append("\nRatios are MSS (fsync on) divided by the peer; for ")
                    .append(better(headline)).append(".\n");
        }
        for (var entry : byTarget.entrySet()) {
            if (entry.getValue().get("error") != null) {
                report.append("\n").append(entry.getKey()).append(": not measured: ").append(entry.getValue().get("error")).append('\n');
            }
        }
        // only the charts this scenario has: some record no latency, or no series over time
        report.append('\n');
        for (String chart : List.of("latency", "throughput")) {
            String file = name + "-" + chart + ".png";
            if (Files.exists(dir.resolve(file))) {
                report.append("![").append(name).append(' ').append(chart).append("](").append(file).append(") ");
            }
        }
        report.append("\n\n");
    }

    private static String better(Map<String, Boolean> headline) {
        List<String> higher = new ArrayList<>();
        List<String> lower = new ArrayList<>();
        headline.forEach((k, up) -> (up ? higher : lower).add(k));
        return (higher.isEmpty() ? "" : String.join(", ", higher) + " higher is better")
                + (higher.isEmpty() || lower.isEmpty() ? "" : "; for ")
                + (lower.isEmpty() ? "" : String.join(", ", lower) + " lower is better");
    }

    /** A dotted path into nested maps: {@code halfRate.p99Ms}. */
    @SuppressWarnings("unchecked")
    static Object value(Map<String, Object> figures, String path) {
        Object current = figures;
        for (String part : path.split("\\.")) {
            if (!(current instanceof Map<?, ?> map)) {
                return null;
            }
            current = ((Map<String, Object>) map).get(part);
        }
        return current;
    }

    /** A figure, or null when it was not measured (written as -1, e.g. bytes a client cannot count). */
    private static Double number(Object value) {
        return value instanceof Number n && n.doubleValue() >= 0 ? n.doubleValue() : null;
    }

    private static String format(Object value) {
        if (value == null || value instanceof Number n && n.doubleValue() < 0) {
            return "–";
        }
        if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            return Math.abs(d) >= 100 ? String.format(Locale.ROOT, "%,.0f", d) : String.format(Locale.ROOT, "%.2f", d);
        }
        if (value instanceof Number n) {
            return String.format(Locale.ROOT, "%,d", n.longValue());
        }
        return value.toString();
    }

    /** Bars of p50 / p99 / p99.9 / max per target, from the scenario's main latency figures. */
    private void latencyChart(String name, Map<String, Map<String, Object>> byTarget) throws IOException {
        CategoryChart chart = new CategoryChartBuilder().width(800).height(400)
                .title(name + (name.equals("fanout") || name.equals("cluster")
                        ? ": " + (name.equals("cluster") ? "fan-out " : "") + "latency at half of each target's highest passing rate (ms)"
                        : name.equals("ingest") ? ": single publish, send to acknowledgement (ms)" : ": latency (ms)")).xAxisTitle("percentile").yAxisTitle("ms").build();
        int series = 0;
        for (var entry : byTarget.entrySet()) {
            Map<String, Object> figures = latencyFigures(entry.getValue());
            List<Double> values = new ArrayList<>();
            for (String p : PERCENTILES) {
                Double v = number(figures.get(p));
                values.add(v == null ? 0.01 : Math.max(0.01, v));
            }
            if (figures.get("p50Ms") != null) {
                chart.addSeries(entry.getKey(), List.of("p50", "p99", "p99.9", "max"), values);
                series++;
            }
        }
        if (series > 0) {
            BitmapEncoder.saveBitmap(chart, dir.resolve(name + "-latency").toString(), BitmapEncoder.BitmapFormat.PNG);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> latencyFigures(Map<String, Object> figures) {
        for (String nested : List.of("halfRate", "single", "fanout.halfRate")) {
            if (value(figures, nested) instanceof Map<?, ?> m) {
                return (Map<String, Object>) m;
            }
        }
        return figures;
    }

    private void throughputChart(String name, Map<String, List<Long>> throughput) throws IOException {
        XYChart chart = new XYChartBuilder().width(800).height(400)
                .title(name + (name.equals("cluster") ? ": pushes acknowledged per second (ingest, then fan-out)"
                        : ": messages per second over time")).xAxisTitle("s").yAxisTitle("msg/s").build();
        int series = 0;
        for (var entry : throughput.entrySet()) {
            if (entry.getValue().isEmpty()) {
                continue;
            }
            List<Integer> x = new ArrayList<>();
            List<Long> y = entry.getValue();
            for (int i = 0; i < y.size(); i++) {
                x.add(i + 1);
            }
            chart.addSeries(entry.getKey(), x, y).setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
            series++;
        }
        if (series > 0) {
            BitmapEncoder.saveBitmap(chart, dir.resolve(name + "-throughput").toString(), BitmapEncoder.BitmapFormat.PNG);
        }
    }
}
