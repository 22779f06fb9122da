package io.mss.bench.jmh;

import io.mss.server.store.AppendRequest;
import io.mss.server.store.AppendResult;
import io.mss.server.store.rocksdb.RocksDbStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The store's append path: 16 callers each waiting for their append, so the single writer groups
 * them into one WriteBatch and one fsync; with fsync on and off.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(16)
public class StoreAppendBenchmark {
    @Param({"true", "false"})
    boolean fsync;

    private Path dir;
    private RocksDbStore store;

    @Setup(Level.Trial)
    public void open() throws IOException {
        dir = Files.createTempDirectory("mss-jmh-append-");
        store = RocksDbStore.open(dir, RocksDbStore.Options.defaults().withFsync(fsync));
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        store.close();
        Stores.delete(dir);
    }

    @Benchmark
    public AppendResult append() {
        String user = "u" + ThreadLocalRandom.current().nextInt(10_000);
        long now = System.currentTimeMillis();
        return store.append(new AppendRequest(io.mss.server.store.Scope.user("ORDER-STATUS", user), user,
                "{\"orderId\":\"42\",\"status\":\"SHIPPED\"}", null, now, now, Long.MAX_VALUE)).join();
    }
}
