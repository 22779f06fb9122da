package io.mss.bench.jmh;

import io.mss.server.store.AppendRequest;
import io.mss.server.store.Oplog;
import io.mss.server.store.rocksdb.RocksDbStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The catch-up read path: 1,000 oplogs of one scope above a sync point, as one range scan. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class CatchupReadBenchmark {
    private static final io.mss.server.store.Scope SCOPE = io.mss.server.store.Scope.user("ORDER-STATUS", "u1");

    private Path dir;
    private RocksDbStore store;

    @Setup(Level.Trial)
    public void fill() throws IOException {
        dir = Files.createTempDirectory("mss-jmh-read-");
        store = RocksDbStore.open(dir, RocksDbStore.Options.defaults().withFsync(false));
        long now = System.currentTimeMillis();
        CompletableFuture<?>[] appends = new CompletableFuture<?>[2_000];
        for (int i = 0; i < appends.length; i++) {
            // other scopes around it, so the scan has neighbours to stop at
            String user = i % 2 == 0 ? "u1" : "u" + (i % 50 + 2);
            appends[i] = store.append(new AppendRequest(io.mss.server.store.Scope.user("ORDER-STATUS", user), user,
                    "{\"orderId\":\"" + i + "\",\"status\":\"SHIPPED\"}", null, now, now, Long.MAX_VALUE));
        }
        CompletableFuture.allOf(appends).join();
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        store.close();
        Stores.delete(dir);
    }

    @Benchmark
    public List<Oplog> read1000() {
        return store.read(SCOPE, 0, 1_000);
    }
}
