package io.mss.bench.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.mss.bench.measure.CpuUse;
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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The output of a benchmark: a JSON file and PNG charts per scenario, and {@code report.md} ready to paste
 * into BENCHMARKS.md: first the "MSS ÷ best peer" table over the scenarios run, then a table per
 * scenario (each target, and MSS / peer ratios), for every run and, with several runs, their medians.
 * Ratios are computed within each run and then their median taken (see {@link Ratios}). Rewritten after
 * every run, so an interrupted benchmark leaves what it measured.
 */
public final class Results {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final List<String> PERCENTILES = List.of("p50Ms", "p99Ms", "p999Ms", "maxMs");

    private final Path dir;
    private final Map<String, Object> machine;
    private final String header;
    private final Map<String, ScenarioRuns> scenarios = new LinkedHashMap<>();

    /** What one scenario measured so far: every run's figures by target, and how to read them. */
    private record ScenarioRuns(Map<String, Boolean> headline, List<RatioFigure> ratios, String note,
                                List<Map<String, Map<String, Object>>> runs, int plannedRuns) {
    }

    public Results(Path dir, Map<String, Object> machine) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.machine = machine;
        StringBuilder h = new StringBuilder("<!-- written by ./mss bench; paste into BENCHMARKS.md -->\n\n");
        machine.forEach((key, value) -> h.append("- ").append(key).append(": ").append(value).append('\n'));
        header = h.append('\n').toString();
    }

    /**
     * Records one more run of a scenario ({@code runs} holds every run so far, in order) and rewrites
     * {@code <scenario>.json}, report.md and, after the first run, the scenario's charts.
     */
    public void scenario(String name, Map<String, Boolean> headline, List<RatioFigure> ratios, String note,
                         List<Map<String, Map<String, Object>>> runs, int plannedRuns,
                         Map<String, List<Long>> firstRunThroughput) throws IOException {
        scenarios.put(name, new ScenarioRuns(headline, ratios, note, List.copyOf(runs), plannedRuns));
        Map<String, Object> file = new LinkedHashMap<>();
        file.put("scenario", name);
        file.put("machine", machine);
        file.put("runs", runs);
        file.put("medians", medians(headline, runs));
        file.put("ratioMedians", ratioMedians(headline, runs));
        file.put("deliveredPerSecond", firstRunThroughput);
        JSON.writeValue(dir.resolve(name + ".json").toFile(), file);
        if (runs.size() == 1) {
            latencyChart(name, runs.get(0));
            throughputChart(name, firstRunThroughput);
        }
        StringBuilder report = new StringBuilder(header);
        bestPeerSection(report);
        scenarios.forEach((scenario, measured) -> section(report, scenario, measured));
        Files.writeString(dir.resolve("report.md"), report);
    }

    /** Per target and headline figure: the median, lowest and highest over the runs. */
    static Map<String, Map<String, Spread>> medians(Map<String, Boolean> headline,
                                                   List<Map<String, Map<String, Object>>> runs) {
        Map<String, Map<String, Spread>> m = new LinkedHashMap<>();
        for (String target : targets(runs)) {
            Map<String, Spread> figures = new LinkedHashMap<>();
            for (String path : headline.keySet()) {
                List<Double> values = new ArrayList<>();
                runs.forEach(run -> add(values, Ratios.figure(run.get(target), path)));
                Spread spread = Spread.of(values);
                if (spread != null) {
                    figures.put(path, spread);
                }
            }
            m.put(target, figures);
        }
        return m;
    }

    /** Per peer and compared figure: the median, lowest and highest of MSS ÷ peer, each computed within its run. */
    static Map<String, Map<String, Spread>> ratioMedians(Map<String, Boolean> headline,
                                                        List<Map<String, Map<String, Object>>> runs) {
        Map<String, Map<String, Spread>> m = new LinkedHashMap<>();
        for (String peer : targets(runs)) {
            if (!Ratios.isPeer(peer)) {
                continue;
            }
            Map<String, Spread> figures = new LinkedHashMap<>();
            headline.forEach((path, higherIsBetter) -> {
                if (higherIsBetter != null) {
                    List<Double> values = new ArrayList<>();
                    runs.forEach(run -> add(values, Ratios.ratio(run, peer, path)));
                    Spread spread = Spread.of(values);
                    if (spread != null) {
                        figures.put(path, spread);
                    }
                }
            });
            if (!figures.isEmpty()) {
                m.put(peer, figures);
            }
        }
        return m;
    }

    private static void add(List<Double> values, Double value) {
        if (value != null) {
            values.add(value);
        }
    }

    /** Every target of any run, in the order they ran. */
    private static List<String> targets(List<Map<String, Map<String, Object>>> runs) {
        Set<String> names = new LinkedHashSet<>();
        runs.forEach(run -> names.addAll(run.keySet()));
        return new ArrayList<>(names);
    }

    /** The table: MSS ÷ the best peer of the same run, per figure; with several runs, the median too. */
    private void bestPeerSection(StringBuilder report) {
        List<Map.Entry<String, ScenarioRuns>> compared = scenarios.entrySet().stream()
                .filter(e -> !e.getValue().ratios().isEmpty()).toList();
        if (compared.isEmpty()) {
            return;
        }
        List<String> targets = new ArrayList<>();
        compared.forEach(e -> targets(e.getValue().runs()).stream().filter(t -> !targets.contains(t)).forEach(targets::add));
        int runCount = compared.stream().mapToInt(e -> e.getValue().runs().size()).max().orElse(0);
        report.append("## MSS ÷ best peer\n\nMSS (fsync on) divided by the best peer of the same run on each figure; ")
                .append("\"generator-bound\": the load generator used more than ")
                .append(Math.round(100 * CpuUse.GENERATOR_BOUND)).append(" % of its cores while measuring it.\n\n");
        for (int r = 0; r < runCount; r++) {
            if (runCount > 1) {
                report.append("### run ").append(r + 1).append("\n\n");
            }
            report.append("| figure |");
            targets.forEach(t -> report.append(' ').append(t).append(" |"));
            report.append(" best peer | MSS ÷ best peer | better |\n|---|");
            targets.forEach(t -> report.append("---:|"));
            report.append("---|---:|---|\n");
            for (var e : compared) {
                if (r >= e.getValue().runs().size()) {
                    continue;
                }
                Map<String, Map<String, Object>> run = e.getValue().runs().get(r);
                for (RatioFigure figure : e.getValue().ratios()) {
                    report.append("| ").append(figure.label()).append(" |");
                    for (String t : targets) {
                        Double v = Ratios.figure(run.get(t), figure.path());
                        report.append(' ').append(v == null ? "–" : format(Ratios.value(run.get(t), figure.path())))
                                .append(v != null && generatorBound(run.get(t), figure) ? " (generator-bound)" : "").append(" |");
                    }
                    Ratios.BestPeer best = Ratios.bestPeer(run, figure.path(), figure.higherIsBetter());
                    report.append(' ').append(best == null ? "–" : best.peer()).append(" | ")
                            .append(best == null || best.ratio() == null ? "–" : times(best.ratio())).append(" | ")
                            .append(figure.higherIsBetter() ? "higher" : "lower").append(" |\n");
                }
            }
            report.append('\n');
        }
        if (runCount > 1) {
            report.append("### median of ").append(runCount).append(" runs (lowest–highest)\n\n| figure |");
            targets.forEach(t -> report.append(' ').append(t).append(" |"));
            report.append(" MSS ÷ best peer | better |\n|---|");
            targets.forEach(t -> report.append("---:|"));
            report.append("---:|---|\n");
            for (var e : compared) {
                List<Map<String, Map<String, Object>>> runs = e.getValue().runs();
                for (RatioFigure figure : e.getValue().ratios()) {
                    report.append("| ").append(figure.label()).append(" |");
                    for (String t : targets) {
                        List<Double> values = new ArrayList<>();
                        runs.forEach(run -> add(values, Ratios.figure(run.get(t), figure.path())));
                        Spread spread = Spread.of(values);
                        report.append(' ').append(spread == null ? "–" : spread.describe(formatLike(runs, t, figure.path())))
                                .append(" |");
                    }
                    List<Double> ratios = new ArrayList<>();
                    for (var run : runs) {
                        Ratios.BestPeer best = Ratios.bestPeer(run, figure.path(), figure.higherIsBetter());
                        add(ratios, best == null ? null : best.ratio());
                    }
                    Spread spread = Spread.of(ratios);
                    report.append(' ').append(spread == null ? "–" : spread.describe(Results::times)).append(" | ")
                            .append(figure.higherIsBetter() ? "higher" : "lower").append(" |\n");
                }
            }
            report.append('\n');
        }
    }

    private static boolean generatorBound(Map<String, Object> figures, RatioFigure figure) {
        return figure.generatorBoundPath() != null && Boolean.TRUE.equals(Ratios.value(figures, figure.generatorBoundPath()));
    }

    private static String times(double ratio) {
        return String.format(Locale.ROOT, "%.2f×", ratio);
    }

    private void section(StringBuilder report, String name, ScenarioRuns measured) {
        report.append("## ").append(name).append("\n\n");
        List<Map<String, Map<String, Object>>> runs = measured.runs();
        for (int r = 0; r < runs.size(); r++) {
            if (measured.plannedRuns() > 1) {
                report.append("### ").append(name).append(", run ").append(r + 1).append("\n\n");
            }
            table(report, measured.headline(), runs.get(r));
        }
        if (measured.plannedRuns() > 1) {
            report.append("### ").append(name).append(", median of ").append(runs.size())
                    .append(" runs (lowest–highest)\n\n");
            medianTable(report, measured.headline(), runs);
        }
        if (measured.note() != null) {
            report.append(measured.note()).append("\n\n");
        }
        // only the charts this scenario has: some record no latency, or no series over time
        boolean charts = false;
        for (String chart : List.of("latency", "throughput")) {
            String file = name + "-" + chart + ".png";
            if (Files.exists(dir.resolve(file))) {
                report.append("![").append(name).append(' ').append(chart).append("](").append(file).append(") ");
                charts = true;
            }
        }
        if (charts) {
            report.append(runs.size() > 1 ? "(charts: run 1)" : "").append("\n\n");
        }
    }

    private static void table(StringBuilder report, Map<String, Boolean> headline, Map<String, Map<String, Object>> byTarget) {
        tableHeader(report, headline);
        for (var entry : byTarget.entrySet()) {
            report.append("| ").append(entry.getKey()).append(" |");
            for (String key : headline.keySet()) {
                report.append(' ').append(format(Ratios.value(entry.getValue(), key))).append(" |");
            }
            report.append('\n');
        }
        Map<String, Object> mss = byTarget.get(Ratios.MSS);
        if (mss != null && mss.get("error") == null) {
            for (var entry : byTarget.entrySet()) {
                if (!Ratios.isPeer(entry.getKey()) || entry.getValue().get("error") != null) {
                    continue;
                }
                report.append("| MSS / ").append(entry.getKey()).append(" |");
                headline.forEach((key, higherIsBetter) -> {
                    Double ratio = higherIsBetter == null ? null : Ratios.ratio(byTarget, entry.getKey(), key);
                    report.append(' ').append(ratio == null ? "–" : times(ratio)).append(" |");
                });
                report.append('\n');
            }
            report.append("\nRatios are MSS (fsync on) divided by the peer; for ").append(better(headline)).append(".\n");
        }
        for (var entry : byTarget.entrySet()) {
            if (entry.getValue().get("error") != null) {
                report.append("\n").append(entry.getKey()).append(": not measured: ").append(entry.getValue().get("error")).append('\n');
            }
            if (entry.getValue().get("generatorBound") instanceof List<?> parts && !parts.isEmpty()) {
                report.append("\n").append(entry.getKey()).append(": generator-bound (the load generator above ")
                        .append(Math.round(100 * CpuUse.GENERATOR_BOUND)).append(" % of its cores) in ")
                        .append(String.join("; ", parts.stream().map(Object::toString).toList())).append('\n');
            }
        }
        report.append('\n');
    }

    private static void medianTable(StringBuilder report, Map<String, Boolean> headline,
                                    List<Map<String, Map<String, Object>>> runs) {
        tableHeader(report, headline);
        medians(headline, runs).forEach((target, figures) -> {
            report.append("| ").append(target).append(" |");
            for (String key : headline.keySet()) {
                Spread spread = figures.get(key);
                report.append(' ').append(spread == null ? texts(runs, target, key) : spread.describe(formatLike(runs, target, key)))
                        .append(" |");
            }
            report.append('\n');
        });
        ratioMedians(headline, runs).forEach((peer, figures) -> {
            report.append("| MSS / ").append(peer).append(" |");
            for (String key : headline.keySet()) {
                Spread spread = figures.get(key);
                report.append(' ').append(spread == null ? "–" : spread.describe(Results::times)).append(" |");
            }
            report.append('\n');
        });
        report.append("\nMSS / peer: the median of the ratios computed in each run; for ").append(better(headline))
                .append(".\n\n");
    }

    private static void tableHeader(StringBuilder report, Map<String, Boolean> headline) {
        report.append("| target |");
        headline.keySet().forEach(k -> report.append(' ').append(k).append(" |"));
        report.append("\n|---|");
        headline.keySet().forEach(k -> report.append("---:|"));
        report.append('\n');
    }

    private static String better(Map<String, Boolean> headline) {
        List<String> higher = new ArrayList<>();
        List<String> lower = new ArrayList<>();
        headline.forEach((k, up) -> {
            if (up != null) {
                (up ? higher : lower).add(k);
            }
        });
        return (higher.isEmpty() ? "" : String.join(", ", higher) + " higher is better")
                + (higher.isEmpty() || lower.isEmpty() ? "" : "; for ")
                + (lower.isEmpty() ? "" : String.join(", ", lower) + " lower is better");
    }

    /** A figure, or null when it was not measured (written as -1, e.g. bytes a client cannot count). */
    private static Double number(Object value) {
        return value instanceof Number n && n.doubleValue() >= 0 ? n.doubleValue() : null;
    }

    /** A figure that is text (the fan-out's rates tried) has no median: every run's, in order. */
    private static String texts(List<Map<String, Map<String, Object>>> runs, String target, String path) {
        List<String> texts = runs.stream().map(run -> Ratios.value(run.get(target), path))
                .filter(v -> v instanceof String).map(Object::toString).toList();
        return texts.isEmpty() ? "–" : String.join(" / ", texts);
    }

    /** Medians of a whole-number figure (a rate, a count) written as whole numbers, like the figure itself. */
    private static java.util.function.DoubleFunction<String> formatLike(List<Map<String, Map<String, Object>>> runs,
                                                                        String target, String path) {
        boolean whole = runs.stream().map(run -> Ratios.value(run.get(target), path)).filter(v -> v != null)
                .allMatch(v -> v instanceof Integer || v instanceof Long);
        return whole ? v -> format(Math.round(v)) : Results::format;
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
            if (Ratios.value(figures, nested) instanceof Map<?, ?> m) {
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
