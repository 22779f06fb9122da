package io.mss.server.store;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The one thread that writes a store's oplogs, and the queue in front of it. Appends wait in the
 * queue; the thread takes all that are there (up to {@code maxBatch}) and writes them as one
 * group commit, so one thread owns id assignment and a batch costs one durable write however many
 * appends it holds. Each store only says how a batch is written ({@link #commit}).
 */
public abstract class SingleWriter {

    /** The name of the writer thread in every store. */
    public static final String THREAD_NAME = "mss-store-writer";

    private static final Logger log = LoggerFactory.getLogger(SingleWriter.class);

    /** How long the writer waits for an append before it does its {@link #idle} work. */
    protected static final long IDLE_RETRY_MILLIS = 500;

    /** One append waiting for the writer, or (with a {@code task}) a change that must not interleave with appends. */
    protected record Pending(AppendRequest request, CompletableFuture<AppendResult> future, Runnable task) {
        Pending(AppendRequest request, CompletableFuture<AppendResult> future) {
            this(request, future, null);
        }
    }

    /** Enqueued last by {@link #stop()}; nothing can be enqueued after it. */
    private static final Pending STOP = new Pending(null, null, null);

    private final int maxBatch;
    private final Runnable onExit;
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final List<Consumer<List<Oplog>>> listeners = new CopyOnWriteArrayList<>();
    private final Thread thread;

    protected SingleWriter(int maxBatch, Runnable onExit) {
        this.maxBatch = maxBatch;
        this.onExit = onExit;
        this.thread = new Thread(this::run, THREAD_NAME);
        // a forgotten close() must not keep the JVM alive; a batch is atomic in the store anyway
        this.thread.setDaemon(true);
    }

    /**
     * Writes one batch and completes every one of its futures, either way, or hands it on to be
     * completed ({@link #settle}); the list is the commit's own, never touched by the writer
     * again. Runs on the writer thread only. Tells {@link #committed} what it stored, on the
     * thread that completes the futures, in commit order.
     */
    protected abstract void commit(List<Pending> batch);

    public final void start() {
        thread.start();
    }

    /** The caller guarantees that {@link #stop()} has not been called yet. */
    public final void submit(AppendRequest request, CompletableFuture<AppendResult> future) {
        queue.add(new Pending(request, future));
    }

    /**
     * Runs {@code task} on the writer thread between two batches: appends queued before it are
     * committed first, those queued after wait for it. For changes to what the writer caches
     * (a scope's epoch). The future completes with null, or exceptionally with what the task threw.
     * The caller guarantees that {@link #stop()} has not been called yet.
     */
    public final CompletableFuture<AppendResult> submitTask(Runnable task) {
        CompletableFuture<AppendResult> done = new CompletableFuture<>();
        queue.add(new Pending(null, done, task));
        return done;
    }

    public final void addListener(Consumer<List<Oplog>> listener) {
        listeners.add(listener);
    }

    /** Lets the writer finish everything already queued, then exit. Call once. */
    public final void stop() {
        queue.add(STOP);
    }

    public final boolean isWriterThread() {
        return Thread.currentThread() == thread;
    }

    public final void awaitExit() {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                // closing half-way would leave futures hanging and the store open under the writer
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Fails whatever is still queued, keeping a pending stop; returns how many appends failed. */
    public final int failQueued(StoreException failure) {
        List<Pending> left = new ArrayList<>();
        queue.drainTo(left);
        int failed = 0;
        for (Pending pending : left) {
            if (pending == STOP) {
                queue.add(STOP);
            } else {
                pending.future().completeExceptionally(failure);
                failed++;
            }
        }
        return failed;
    }

    /**
     * Whether the writer has work of its own to retry while nothing is queued (a store settling a
     * commit whose answer was lost). Writer thread only.
     */
    protected boolean hasIdleWork() {
        return false;
    }

    /** Called on the writer thread after {@link #IDLE_RETRY_MILLIS} with nothing queued, while {@link #hasIdleWork}. */
    protected void idle() {
    }

    /**
     * Waits until every batch {@link #commit} handed on is finished: a store may make a written
     * batch durable and answer it on a thread of its own (RocksDB's fsync) while the writer goes
     * on. Called on the writer thread before a task and before the writer exits, so that a task
     * sees every append queued before it done, and nothing is left unanswered.
     */
    protected void settle() {
    }

    /** How long a store thread polls its empty queue before it parks. */
    private static final long SPIN_NANOS = 50_000;

    /**
     * Takes the queue's head, polling it for up to {@link #SPIN_NANOS} before parking: waking a
     * parked thread costs more than the gap between two pushes at a high rate.
     */
    protected static <T> T takeSpinning(BlockingQueue<T> queue) throws InterruptedException {
        T head = queue.poll();
        if (head != null) {
            return head;
        }
        long until = System.nanoTime() + SPIN_NANOS;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
            head = queue.poll();
            if (head != null) {
                return head;
            }
        }
        return queue.take();
    }

    /** Hands a commit's oplogs to every listener; one that throws harms neither the writer nor the others. */
    protected final void committed(List<Oplog> oplogs) {
        if (oplogs.isEmpty()) {
            return;
        }
        List<Oplog> view = List.copyOf(oplogs);
        for (Consumer<List<Oplog>> listener : listeners) {
            try {
                listener.accept(view);
            } catch (Throwable t) {
                log.error("onCommit listener {} failed on {} oplogs", listener, view.size(), t);
            }
        }
    }

    /** Commits the appends of the batch, running its tasks in their place in the queue's order. */
    private void commitAround(List<Pending> batch) {
        List<Pending> appends = new ArrayList<>(batch.size());
        for (Pending pending : batch) {
            if (pending.task() == null) {
                appends.add(pending);
                continue;
            }
            if (!appends.isEmpty()) {
                commit(appends);
                appends = new ArrayList<>();
            }
            settle();
            try {
                pending.task().run();
                pending.future().complete(null);
            } catch (Throwable t) {
                pending.future().completeExceptionally(t);
            }
        }
        if (!appends.isEmpty()) {
            commit(appends);
        }
    }

    private void run() {
        List<Pending> batch = new ArrayList<>(maxBatch);
        boolean stopping = false;
        try {
            while (!stopping) {
                batch.clear();
                try {
                    Pending first = hasIdleWork() ? queue.poll(IDLE_RETRY_MILLIS, TimeUnit.MILLISECONDS)
                            : takeSpinning(queue);
                    if (first == null) {
                        idle();
                        continue;
                    }
                    batch.add(first);
                } catch (InterruptedException e) {
                    // nobody is supposed to interrupt the writer; stopping goes through the queue
                    continue;
                }
                queue.drainTo(batch, maxBatch - 1);
                if (batch.get(batch.size() - 1) == STOP) {
                    batch.remove(batch.size() - 1);
                    stopping = true;
                }
                commitAround(batch);
            }
            if (hasIdleWork()) {
                // one last attempt, so a clean stop leaves nothing for the next start to settle
                idle();
            }
        } finally {
            try {
                settle(); // before the store frees itself, and also when the writer died of a bug
            } catch (Throwable t) {
                log.error("could not finish the batch in flight", t);
            }
            onExit.run();
        }
    }
}
