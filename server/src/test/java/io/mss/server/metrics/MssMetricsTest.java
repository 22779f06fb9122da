package io.mss.server.metrics;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class MssMetricsTest {

    /** Regression: gauges on lambdas were held weakly and read NaN once a GC had run. */
    @Test
    void gaugesOnLambdasSurviveAGarbageCollection() {
        try (MssMetrics metrics = new MssMetrics()) {
            AtomicLong open = new AtomicLong(7);
            metrics.connections(() -> open.get());
            metrics.backlog(() -> 3);
            for (int i = 0; i < 3; i++) {
                System.gc();
            }
            assertThat(metrics.snapshot()).containsEntry("connections", 7.0).containsEntry("backlog", 3.0);
            assertThat(metrics.scrape()).contains("mss_connections 7.0", "mss_backlog_oplogs 3.0");
        }
    }

    @Test
    void countersCarryTheirDomainNamesAndTags() {
        try (MssMetrics metrics = new MssMetrics()) {
            metrics.push("OK");
            metrics.push("OK");
            metrics.push("CONFIG_OFFLINE");
            metrics.handshake("ok");
            metrics.handshake("invalid_token");
            metrics.delivered(5);
            metrics.latency(12);
            metrics.committed(4, 2_000_000);
            metrics.caughtUp(9);

            String text = metrics.scrape();
            assertThat(text).contains("mss_pushes_total{result_code=\"OK\"} 2.0",
                    "mss_pushes_total{result_code=\"CONFIG_OFFLINE\"} 1.0",
                    "mss_handshakes_total{result=\"invalid_token\"} 1.0",
                    "mss_deliveries_total 5.0",
                    "mss_delivery_latency_seconds_count 1",
                    "mss_store_commit_batch_size_sum 4.0",
                    "mss_store_fsync_seconds_count 1",
                    "mss_catchup_oplogs_sum 9.0");
            Map<String, Object> stats = metrics.snapshot();
            assertThat(stats).containsEntry("pushes", 3.0).containsEntry("pushesOk", 2.0)
                    .containsEntry("deliveries", 5.0);
            @SuppressWarnings("unchecked")
            Map<String, Object> latency = (Map<String, Object>) stats.get("deliveryLatencyMs");
            assertThat((Double) latency.get("p99")).isBetween(11.0, 13.0);
        }
    }
}
