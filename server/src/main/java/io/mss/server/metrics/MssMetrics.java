package io.mss.server.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * Every meter of one MSS node, named after the domain ({@code mss_*}), in one Prometheus
 * registry. The gateway, sync engine, store and push API call the one-line methods here; the
 * registry is scraped at {@code GET /metrics} and summarized for the console at
 * {@code GET /api/v1/stats}.
 *
 * <p>Thread-safe: meters are called from event loops, the store's writer and HTTP threads.
 */
public final class MssMetrics implements AutoCloseable {
    /** Delivery latencies above this are counted in the histogram's last bucket. */
    private static final Duration MAX_EXPECTED_LATENCY = Duration.ofMinutes(5);

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<String, Counter> handshakes = new ConcurrentHashMap<>();
    private final Map<String, Counter> pushes = new ConcurrentHashMap<>();
    private final Map<String, Counter> fullUpdates = new ConcurrentHashMap<>();
    private final Map<String, Counter> staleAcks = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> transportConnections = new ConcurrentHashMap<>();
    private final Counter deliveries;
    private final Counter acks;
    private final Counter poisonCutoffs;
    private final Timer deliveryLatency;
    private final DistributionSummary catchupOplogs;
    private final DistributionSummary commitBatchSize;
    private final Timer fsync;
    private final Counter storeReconnects;
    private final Counter storeFailovers;
    private final Counter busReconnects;
    private final Map<String, Counter> reconcilerCatchups = new ConcurrentHashMap<>();
    private JvmGcMetrics gcMetrics;

    public MssMetrics() {
        deliveries = Counter.builder("mss.deliveries").description("oplogs written to devices")
                .register(registry);
        acks = Counter.builder("mss.acks").description("acks that moved a device's sync point forward")
                .register(registry);
        poisonCutoffs = Counter.builder("mss.poison.cutoffs")
                .description("oplogs skipped for a device after being sent without an ack too often")
                .register(registry);
        deliveryLatency = Timer.builder("mss.delivery.latency")
                .description("from the push being stored to its oplog being written to a live session")
                .publishPercentiles(0.5, 0.95, 0.99)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(MAX_EXPECTED_LATENCY)
                .register(registry);
        catchupOplogs = DistributionSummary.builder("mss.catchup.oplogs")
                .description("oplogs sent to a session during its catch-up after connecting")
                .publishPercentileHistogram()
                .minimumExpectedValue(1.0)
                .maximumExpectedValue(1_000_000.0)
                .register(registry);
        commitBatchSize = DistributionSummary.builder("mss.store.commit.batch.size")
                .description("oplogs stored by one group commit (one write)")
                .publishPercentileHistogram()
                .minimumExpectedValue(1.0)
                .maximumExpectedValue(1024.0)
                .register(registry);
        fsync = Timer.builder("mss.store.fsync")
                .description("the durable write of one group commit: its WAL write and the fsync that covered it")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(0).plusNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
        storeReconnects = Counter.builder("mss.store.reconnects")
                .description("the store's writer committed again after the database was unreachable")
                .register(registry);
        storeFailovers = Counter.builder("mss.store.failovers")
                .description("the store's writer committed on another database host than before (a new primary)")
                .register(registry);
        busReconnects = Counter.builder("mss.bus.reconnects")
                .description("the cluster bus subscribed again after its connection to Redis was lost")
                .register(registry);
    }

    /** JVM memory, GC, threads and CPU, and the memory of Netty's buffer allocator. Call once. */
    public MssMetrics bindJvmAndNetty() {
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics = new JvmGcMetrics();
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        // the gateway writes with the default allocator (pooled, or adaptive in Netty 4.2)
        if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider provider) {
            new NettyAllocatorMetrics(provider).bindTo(registry);
        }
        return this;
    }

    /** {@code mss_connections}: sessions open now (handshake done). */
    public void connections(LongSupplier open) {
        // held strongly: the supplier is a lambda nobody else holds, a weak one would read NaN after a GC
        Gauge.builder("mss.connections", open, LongSupplier::getAsLong)
                .description("sessions open now").strongReference(true).register(registry);
    }

    /** {@code mss_backlog_oplogs}: oplogs committed in the scopes of open sessions and not acked yet. */
    public void backlog(LongSupplier oplogs) {
        Gauge.builder("mss.backlog.oplogs", oplogs, LongSupplier::getAsLong)
                .description("oplogs committed in the scopes of open sessions and not yet acked")
                .strongReference(true)
                .register(registry);
    }

    /** A handshake ended: {@code ok}, or the error code the connection was closed with. */
    public void handshake(String result) {
        handshakes.computeIfAbsent(result, r -> Counter.builder("mss.handshakes").tag("result", r)
                .description("handshakes by result").register(registry)).increment();
    }

    /**
     * {@code mss_transport_connections{transport="tcp"|"ws"}}: connections open now, counted from
     * accept (before TLS and Hello), per transport. The caller increments and decrements it.
     */
    public AtomicInteger transportConnections(String transport) {
        return transportConnections.computeIfAbsent(transport, t -> {
            AtomicInteger open = new AtomicInteger();
            Gauge.builder("mss.transport.connections", open, AtomicInteger::get)
                    .tag("transport", t).description("connections open now, by transport, from accept")
                    .strongReference(true).register(registry);
            return open;
        });
    }

    /** {@code mss_websocket_refusals_total{reason}}: WebSocket upgrades refused before any MSS frame (origin). */
    public void webSocketRefused(String reason) {
        Counter.builder("mss.websocket.refusals").tag("reason", reason)
                .description("WebSocket connections refused before the MSS handshake").register(registry).increment();
    }

    /** A push was answered with this result code (OK, DUPLICATED_BIZ_ID, or a refusal). */
    public void push(String resultCode) {
        pushes.computeIfAbsent(resultCode, r -> Counter.builder("mss.pushes").tag("result_code", r)
                .description("pushes by result code").register(registry)).increment();
    }

    /** Oplogs written to a session; {@code createdAtMillis} of one of them for the latency, 0 for none. */
    public void delivered(int oplogs) {
        deliveries.increment(oplogs);
    }

    /** The time from an oplog's storing to its being written live to a session. */
    public void latency(long millis) {
        deliveryLatency.record(Math.max(0, millis), TimeUnit.MILLISECONDS);
    }

    public void acked() {
        acks.increment();
    }

    public void caughtUp(long oplogs) {
        catchupOplogs.record(oplogs);
    }

    /**
     * A FULL_UPDATE told to a device: {@code reason} is {@code threshold}, {@code gap}, {@code retention}
     * (ids continue), or {@code epoch}, {@code above_head} (the device's position was on no timeline
     * the scope has, and its cursor started over).
     */
    public void fullUpdate(String reason) {
        fullUpdates.computeIfAbsent(reason, r -> Counter.builder("mss.full.updates")
                .description("FULL_UPDATE commands sent to devices, by reason").tag("reason", r)
                .register(registry)).increment();
    }

    /** An ack that moved nothing: {@code raced} (of the epoch just left) or {@code clamped} (above what was sent). */
    public void ackIgnored(String reason) {
        staleAcks.computeIfAbsent(reason, r -> Counter.builder("mss.acks.ignored")
                .description("acks that did not move a sync point as sent, by reason").tag("reason", r)
                .register(registry)).increment();
    }

    public void poisonCutoff() {
        poisonCutoffs.increment();
    }

    /** One group commit stored {@code oplogs} and its durable write took {@code nanos}. */
    public void committed(int oplogs, long nanos) {
        commitBatchSize.record(oplogs);
        fsync.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** {@code mss_store_reconnects_total}: a commit succeeded after one failed with the database unreachable. */
    public void storeReconnected() {
        storeReconnects.increment();
    }

    /** {@code mss_store_failovers_total}: a commit went to another database host than the one before. */
    public void storeFailedOver() {
        storeFailovers.increment();
    }

    /**
     * {@code mss_store_commits_in_doubt_total{outcome}}: batches whose commit was sent and never
     * answered, settled once the database answered again: {@code stored} (every oplog of it is
     * there) or {@code new_timeline} (not stored as written: its scopes start new timelines). The
     * writer keeps the counts from its start; these read them.
     */
    public void commitsInDoubtSettled(Number stored, Number newTimelines) {
        // the writer holds the counts: Micrometer keeps only a weak reference to them
        for (Map.Entry<String, Number> outcome : Map.of("stored", stored, "new_timeline", newTimelines).entrySet()) {
            io.micrometer.core.instrument.FunctionCounter.builder("mss.store.commits.in.doubt", outcome.getValue(),
                            Number::doubleValue)
                    .tag("outcome", outcome.getKey())
                    .description("batches whose commit was never answered, by how they were settled")
                    .register(registry);
        }
    }

    /**
     * {@code mss_store_commits_in_doubt_pending}: oplogs of commits never answered that this node
     * has not settled yet; while above 0, other nodes may append on the timeline in doubt.
     */
    public void commitsInDoubtPending(IntSupplier pending) {
        Gauge.builder("mss.store.commits.in.doubt.pending", pending, IntSupplier::getAsInt)
                .description("oplogs of commits never answered, not settled yet")
                // a method reference the caller keeps nowhere: a weak one would read NaN after a GC
                .strongReference(true)
                .register(registry);
    }

    /** {@code mss_bus_reconnects_total}: the bus's subscription was established again after a lost connection. */
    public void busReconnected() {
        busReconnects.increment();
    }

    /**
     * {@code mss_reconciler_catchups_total{kind}}: what one reconciliation pass found this node
     * behind on, {@code scope} (a scope's head above what the node had heard) or {@code config}
     * (a bizType configuration changed without the node hearing of it).
     */
    public void reconcilerCaughtUp(String kind, int count) {
        if (count > 0) {
            reconcilerCatchups.computeIfAbsent(kind, k -> Counter.builder("mss.reconciler.catchups").tag("kind", k)
                    .description("scopes and configurations the reconciliation found this node behind on")
                    .register(registry)).increment(count);
        }
    }

    /** Everything in the Prometheus text format. */
    public String scrape() {
        return registry.scrape();
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** What the console's overview plots: totals (it derives rates) and latency percentiles. */
    public Map<String, Object> snapshot() {
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("timestamp", System.currentTimeMillis());
        stats.put("connections", gauge("mss.connections"));
        stats.put("backlog", gauge("mss.backlog.oplogs"));
        stats.put("pushes", pushes.values().stream().mapToDouble(Counter::count).sum());
        stats.put("pushesOk", count(pushes.get("OK")));
        stats.put("deliveries", deliveries.count());
        stats.put("acks", acks.count());
        stats.put("poisonCutoffs", poisonCutoffs.count());
        Map<String, Object> latency = new LinkedHashMap<>();
        for (ValueAtPercentile p : deliveryLatency.takeSnapshot().percentileValues()) {
            latency.put("p" + Math.round(p.percentile() * 100), p.value(TimeUnit.MILLISECONDS));
        }
        latency.put("max", deliveryLatency.max(TimeUnit.MILLISECONDS));
        stats.put("deliveryLatencyMs", latency);
        Map<String, Object> handshakeResults = new LinkedHashMap<>();
        handshakes.forEach((result, counter) -> handshakeResults.put(result, counter.count()));
        stats.put("handshakes", handshakeResults);
        Map<String, Object> pushResults = new LinkedHashMap<>();
        pushes.forEach((code, counter) -> pushResults.put(code, counter.count()));
        stats.put("pushResults", pushResults);
        return stats;
    }

    private double gauge(String name) {
        Gauge gauge = registry.find(name).gauge();
        return gauge == null ? 0 : gauge.value();
    }

    private static double count(Counter counter) {
        return counter == null ? 0 : counter.count();
    }

    @Override
    public void close() {
        if (gcMetrics != null) {
            gcMetrics.close();
        }
        registry.close();
    }
}
