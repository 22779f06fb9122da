package io.mss.bench.report;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class RatiosTest {

    private static Map<String, Map<String, Object>> run(double mss, double mosquitto, double nats) {
        Map<String, Map<String, Object>> byTarget = new LinkedHashMap<>();
        byTarget.put("mss", Map.of("rate", mss, "single", Map.of("ackedPerSecond", mss)));
        byTarget.put("mss-nofsync", Map.of("rate", 1e9)); // never a peer, however good
        byTarget.put("mosquitto", Map.of("rate", mosquitto, "single", Map.of("ackedPerSecond", mosquitto)));
        byTarget.put("nats", Map.of("rate", nats));
        byTarget.put("nats-always", Map.of("error", "not measured"));
        return byTarget;
    }

    @Test
    void theBestPeerIsTheHighestWhereHigherIsBetterAndTheLowestWhereLowerIs() {
        Map<String, Map<String, Object>> run = run(2_000, 8_000, 1_000);

        Ratios.BestPeer higher = Ratios.bestPeer(run, "rate", true);
        Ratios.BestPeer lower = Ratios.bestPeer(run, "rate", false);

        assertThat(higher.peer()).isEqualTo("mosquitto");
        assertThat(higher.ratio()).isEqualTo(0.25);
        assertThat(lower.peer()).isEqualTo("nats");
        assertThat(lower.ratio()).isEqualTo(2.0);
    }

    @Test
    void aFigureNotMeasuredOrWrittenAsMinusOneIsNoPeerValue() {
        Map<String, Map<String, Object>> run = new LinkedHashMap<>();
        run.put("mss", Map.of("bytes", 10.0));
        run.put("mosquitto", Map.of("bytes", -1L));
        run.put("nats", Map.of("bytes", 20.0));

        assertThat(Ratios.bestPeer(run, "bytes", false).peer()).isEqualTo("nats");
        assertThat(Ratios.ratio(run, "mosquitto", "bytes")).isNull();
        assertThat(Ratios.bestPeer(run, "missing", false)).isNull();
    }

    @Test
    void ratiosAreTakenInEachRunThenTheirMedian() {
        Map<String, Boolean> headline = new LinkedHashMap<>();
        headline.put("rate", true);
        headline.put("generatorCpu", null); // shown without a ratio
        // MSS / mosquitto per run: 0.5, 3.0, 1.0 → median 1.0, while the ratio of the medians is 4,000 / 2,000 = 2.0
        List<Map<String, Map<String, Object>>> runs = List.of(run(1_000, 2_000, 500), run(6_000, 2_000, 500),
                run(4_000, 4_000, 500));

        Map<String, Map<String, Spread>> ratios = Results.ratioMedians(headline, runs);
        Map<String, Map<String, Spread>> medians = Results.medians(headline, runs);

        assertThat(ratios.get("mosquitto").get("rate")).isEqualTo(new Spread(1.0, 0.5, 3.0, 3));
        assertThat(medians.get("mss").get("rate").median() / medians.get("mosquitto").get("rate").median()).isEqualTo(2.0);
        assertThat(ratios.get("nats").get("rate").median()).isCloseTo(8.0, within(1e-9));
        assertThat(ratios).doesNotContainKeys("mss", "mss-nofsync", "nats-always");
        assertThat(ratios.get("mosquitto")).doesNotContainKey("generatorCpu");
    }

    @Test
    void figuresAreReadAlongDottedPaths() {
        assertThat(Ratios.ratio(run(1_000, 4_000, 1), "mosquitto", "single.ackedPerSecond")).isEqualTo(0.25);
    }
}
