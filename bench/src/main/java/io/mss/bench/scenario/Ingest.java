package io.mss.bench.scenario;

import io.mss.bench.measure.CpuUse;
import io.mss.bench.measure.Meter;
import io.mss.bench.report.RatioFigure;
import io.mss.bench.targets.Workload;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Ingest: messages acknowledged per second with no device online, for single publishes (a fixed
 * number in flight) and batches ({@code push/batch} on MSS; the same number of publishes in flight
 * on the peers, which have no batch call).
 */
public final class Ingest implements Scenario {

    @Override
    public String name() {
        return "ingest";
    }

    @Override
    public Map<String, Boolean> headline() {
        Map<String, Boolean> m = new LinkedHashMap<>();
        m.put("single.ackedPerSecond", true);
        m.put("single.p99Ms", false);
        m.put("batch.ackedPerSecond", true);
        m.put("stream.ackedPerSecond", true);
        m.put("stream.p99Ms", false);
        m.put("serverCpuPerKMsg", false);
        m.put("generatorCpuPerKMsg", null);
        m.put("single.generatorCpuPercent", null);
        m.put("batch.generatorCpuPercent", null);
        m.put("serverRssMB", false);
        return m;
    }

    @Override
    public List<RatioFigure> bestPeerRatios() {
        return List.of(new RatioFigure("ingest, single pushes acked/s", "single.ackedPerSecond", true, "single.generatorBound"),
                new RatioFigure("ingest, batches: messages acked/s", "batch.ackedPerSecond", true, "batch.generatorBound"),
                // MSS over its streaming push API (gRPC); the peers' publishes are streamed already
                new RatioFigure("ingest, streamed single pushes acked/s", "stream.ackedPerSecond", true,
                        "stream.generatorBound"));
    }

    @Override
    public Map<String, Object> run(Run run) throws Exception {
        // inboxes no device of another scenario uses: the cluster scenario runs fan-out on the same server after
        List<String> ids = Run.deviceIds("i", run.sizes.devices());
        run.phase("prepare");
        run.target.prepare(Workload.INBOX, List.of());
        Map<String, Object> result = new LinkedHashMap<>();
        // every server gets the same unmeasured warm-up of each way it is measured in (the JVM's JIT
        // needs it most: with 3 s of single pushes only, C2 still took half a core of a 2-core machine
        // in the measured single phase, and batches and the stream were measured while compiling)
        int warmUp = Math.max(1, run.sizes.ingestSeconds() / 2);
        phase(run, ids, Way.SINGLE, 1, run.sizes.ingestConcurrency(), Run.WARM_UP, warmUp);
        phase(run, ids, Way.BATCH, run.sizes.batchSize(), batchWorkers(run), Run.WARM_UP, warmUp);
        phase(run, ids, Way.STREAMED, 1, run.sizes.ingestConcurrency(), Run.WARM_UP, warmUp);
        CpuUse cpu = run.cpuUse();
        long ackedBefore = run.meter.acked.sum();
        result.put("single", phase(run, ids, Way.SINGLE, 1, run.sizes.ingestConcurrency(), "single",
                run.sizes.ingestSeconds()));
        result.put("batch", phase(run, ids, Way.BATCH, run.sizes.batchSize(), batchWorkers(run), "batch",
                run.sizes.ingestSeconds()));
        // single pushes again, as many in flight, over the streaming API where the target has one
        result.put("stream", phase(run, ids, Way.STREAMED, 1, run.sizes.ingestConcurrency(), "stream", run.sizes.ingestSeconds()));
        long acked = Math.max(1, run.meter.acked.sum() - ackedBefore);
        result.put("serverCpuPerKMsg", 1000 * cpu.serverSeconds() / acked);
        result.put("generatorCpuPerKMsg", 1000 * cpu.generatorSeconds() / acked);
        result.put("concurrency", run.sizes.ingestConcurrency());
        result.put("batchSize", run.sizes.batchSize());
        result.putAll(run.serverFigures());
        return result;
    }

    private static int batchWorkers(Run run) {
        return Math.max(2, run.sizes.ingestConcurrency() / 8);
    }

    /** How a phase publishes: one message, a batch, or one message over the streaming API. */
    private enum Way { SINGLE, BATCH, STREAMED }

    /** {@code workers} loops, each sending one request of {@code perRequest} messages and waiting for its ack. */
    private static Map<String, Object> phase(Run run, List<String> ids, Way way, int perRequest, int workers, String name,
                                             int seconds) throws InterruptedException {
        run.phase(name);
        CpuUse cpu = run.cpuUse();
        Histogram latency = new Histogram(TimeUnit.SECONDS.toMicros(120), 3);
        long ackedBefore = run.meter.acked.sum();
        AtomicBoolean running = new AtomicBoolean(true);
        List<CompletableFuture<Void>> loops = new ArrayList<>();
        long start = System.nanoTime();
        for (int w = 0; w < workers; w++) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            loops.add(done);
            next(run, ids, way, perRequest, running, latency, done);
        }
        TimeUnit.SECONDS.sleep(seconds); // the measured interval itself
        running.set(false);
        CompletableFuture.allOf(loops.toArray(new CompletableFuture<?>[0])).orTimeout(60, TimeUnit.SECONDS)
                .exceptionally(e -> null).join();
        double elapsed = (System.nanoTime() - start) / 1e9;
        Map<String, Object> m = new LinkedHashMap<>();
        synchronized (latency) {
            m.putAll(Meter.percentiles(latency));
        }
        m.put("ackedPerSecond", (run.meter.acked.sum() - ackedBefore) / elapsed);
        m.put("inFlightRequests", workers);
        m.put("messagesPerRequest", perRequest);
        m.putAll(run.cpuFigures(cpu, name));
        return m;
    }

    private static void next(Run run, List<String> ids, Way way, int perRequest, AtomicBoolean running, Histogram latency,
                             CompletableFuture<Void> done) {
        if (!running.get()) {
            done.complete(null);
            return;
        }
        int messages = perRequest;
        List<String> targets = new ArrayList<>(messages);
        List<String> payloads = new ArrayList<>(messages);
        for (int i = 0; i < messages; i++) {
            targets.add(ids.get(ThreadLocalRandom.current().nextInt(ids.size())));
            payloads.add(Meter.payload(run.sizes.payloadChars()));
        }
        long sentAt = System.nanoTime();
        run.meter.sent.add(messages);
        CompletableFuture<Void> sent = switch (way) {
            case SINGLE -> run.target.publish(targets.get(0), -1, payloads.get(0));
            case STREAMED -> run.target.publishStreamed(targets.get(0), -1, payloads.get(0));
            case BATCH -> run.target.publishBatch(targets, -1, payloads);
        };
        sent.whenComplete((v, e) -> {
            if (e == null) {
                run.meter.acked.add(messages);
                synchronized (latency) {
                    latency.recordValue(Math.min((System.nanoTime() - sentAt) / 1000, TimeUnit.SECONDS.toMicros(120)));
                }
                next(run, ids, way, perRequest, running, latency, done);
            } else {
                run.meter.errors.increment();
                // off this stack: a target that fails at once must not recurse the loop deeper
                CompletableFuture.runAsync(() -> next(run, ids, way, perRequest, running, latency, done),
                        CompletableFuture.delayedExecutor(10, TimeUnit.MILLISECONDS));
            }
        });
    }
}
