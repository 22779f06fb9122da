package io.mss.server.sync;

import io.mss.server.store.StoreException;
import io.netty.channel.EventLoop;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the store reads of sessions (a session's start, the drains of lagging sessions, the sync
 * point lookup of a Hello, the head check of an ack above what the session knows) and hands the
 * result back on the session's event loop, so that a read that waits for the network
 * (PostgreSQL) never holds up the other connections of that loop, as HiveMQ's persistence
 * answers a client's reads on the client's executor.
 *
 * <p>Threads: {@link #pooled} reads on its own bounded pool ({@code mss-store-reader-N}); its queue
 * is bounded too, and a read it cannot take fails at once with {@link StoreException}, as a store
 * that is away does. The future always completes on the event loop it was given. {@link #inline}
 * reads on the calling event loop itself: for the embedded store, whose reads are local and take
 * microseconds, a hop to another thread and back would cost more than the read.
 */
public final class StoreReader implements AutoCloseable {

    private final ThreadPoolExecutor pool;

    private StoreReader(ThreadPoolExecutor pool) {
        this.pool = pool;
    }

    /** Reads on the caller's event loop, as a plain call. */
    public static StoreReader inline() {
        return new StoreReader(null);
    }

    /**
     * Reads on {@code threads} threads of its own, with at most {@code queued} reads waiting.
     * Size it like the store's reader connections: more threads than connections only queue there.
     */
    public static StoreReader pooled(int threads, int queued) {
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(queued), r -> {
            Thread thread = new Thread(r, "mss-store-reader-" + n.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        pool.allowCoreThreadTimeOut(true);
        return new StoreReader(pool);
    }

    /** Whether reads happen on the calling event loop (and the future is complete on return). */
    public boolean isInline() {
        return pool == null;
    }

    /**
     * Runs {@code read} and completes the future with its result on {@code loop}. A
     * {@link StoreException} (or any failure) of the read fails the future.
     */
    public <T> CompletableFuture<T> read(EventLoop loop, Callable<T> read) {
        CompletableFuture<T> done = new CompletableFuture<>();
        if (pool == null) {
            try {
                done.complete(read.call());
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
            return done;
        }
        try {
            pool.execute(() -> {
                T result;
                try {
                    result = read.call();
                } catch (Throwable t) {
                    onLoop(loop, () -> done.completeExceptionally(t));
                    return;
                }
                onLoop(loop, () -> done.complete(result));
            });
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(new StoreException("too many store reads waiting ("
                    + pool.getQueue().size() + "); try again later", e));
        }
        return done;
    }

    private static void onLoop(EventLoop loop, Runnable completion) {
        try {
            loop.execute(completion);
        } catch (RejectedExecutionException shuttingDown) {
            // the event loop is stopping and takes its connections with it
        }
    }

    /** Reads waiting for a thread; for metrics. */
    public int queued() {
        return pool == null ? 0 : pool.getQueue().size();
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
