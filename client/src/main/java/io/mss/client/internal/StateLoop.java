package io.mss.client.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The client's state thread and the hand-offs to and from it. Every piece of the client
 * ({@link ConnectionManager}, {@link AckFlusher}, {@link DeliveryPump}, {@link UpstreamRequests},
 * {@link UserSwitch}) keeps its state unsynchronized because only this thread touches it, and
 * asserts so with {@link #checkThread}.
 *
 * <p>Each task ends with {@link #setBeforeCallbacks the owner's hook} (the client writes the
 * inbox records the task produced) and then hands what it {@linkplain #dispatch dispatched} to
 * the callback executor, in order: an attempt is counted before its callback can run.
 */
final class StateLoop {
    private static final Logger LOG = Logger.getLogger("io.mss.client");

    private final ScheduledThreadPoolExecutor executor;
    private volatile Thread thread;
    private final SerialExecutor callbacks;
    /** What the current task hands to the callback executor once it is done. State thread. */
    private final List<Runnable> toCallbacks = new ArrayList<>();
    /** Callback threads add, the state thread takes: see {@link #postFromCallback}. */
    private final ConcurrentLinkedQueue<Runnable> fromCallbacks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean fromCallbacksPosted = new AtomicBoolean();
    private Runnable beforeCallbacks = () -> { };

    StateLoop(String threadName, Executor callbackExecutor) {
        this.executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            thread = t;
            return t;
        });
        // cancelled reconnect, ping and retry timers would otherwise sit in the queue until due
        executor.setRemoveOnCancelPolicy(true);
        this.callbacks = new SerialExecutor(callbackExecutor);
    }

    /** Runs at the end of every task, before its dispatched callbacks are handed over. */
    void setBeforeCallbacks(Runnable hook) {
        this.beforeCallbacks = hook;
    }

    /**
     * Thread ownership, asserted as the HiveMQ MQTT client's {@code checkThread()} does.
     *
     * @throws IllegalStateException off the state thread
     */
    void checkThread() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("MSS client state touched on " + Thread.currentThread().getName()
                    + ", not on its state thread");
        }
    }

    boolean onStateThread() {
        return Thread.currentThread() == thread;
    }

    /** @return false once {@link #shutdown} ran */
    boolean tryPost(Runnable task) {
        try {
            executor.execute(() -> guarded(task));
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    void post(Runnable task) {
        if (!tryPost(task)) {
            LOG.fine("client is closed, ignoring a call");
        }
    }

    /** Null once {@link #shutdown} ran, which tasks queued before it can still run into. */
    ScheduledFuture<?> schedule(Runnable task, long delayMillis) {
        try {
            return executor.schedule(() -> guarded(task), delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            return null;
        }
    }

    ScheduledFuture<?> scheduleAtFixedRate(Runnable task, long periodMillis) {
        try {
            return executor.scheduleAtFixedRate(() -> guarded(task), periodMillis, periodMillis,
                    TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            return null;
        }
    }

    /** Queues work for the callback executor behind the current task's end. State thread. */
    void dispatch(Runnable callback) {
        checkThread();
        toCallbacks.add(callback);
    }

    /**
     * Posts from callback threads (attempt failed, not run, acked), batched: one state-thread task
     * takes all that arrived meanwhile, in order. Never held back until the callback returns: an
     * app may ack and then stay in its callback, and the next message must not wait for that.
     */
    void postFromCallback(Runnable task) {
        fromCallbacks.add(task);
        if (fromCallbacksPosted.compareAndSet(false, true) && !tryPost(this::runFromCallbacks)) {
            fromCallbacksPosted.set(false);
            LOG.fine("client is closed, ignoring a call");
        }
    }

    private void runFromCallbacks() {
        fromCallbacksPosted.set(false);
        Runnable task;
        while ((task = fromCallbacks.poll()) != null) {
            try {
                task.run();
            } catch (Throwable t) {
                LOG.log(Level.SEVERE, "unexpected failure on the MSS client state thread", t);
            }
        }
    }

    /** Tasks already queued still run; new ones are refused. */
    void shutdown() {
        executor.shutdown();
    }

    boolean awaitTermination(long millis) throws InterruptedException {
        return executor.awaitTermination(millis, TimeUnit.MILLISECONDS);
    }

    /** A task that throws would kill a periodic timer silently; log instead. */
    private void guarded(Runnable task) {
        try {
            task.run();
        } catch (Throwable t) {
            LOG.log(Level.SEVERE, "unexpected failure on the MSS client state thread", t);
        }
        try {
            beforeCallbacks.run();
        } catch (Throwable t) {
            LOG.log(Level.SEVERE, "unexpected failure on the MSS client state thread", t);
        }
        if (!toCallbacks.isEmpty()) {
            List<Runnable> ready = new ArrayList<>(toCallbacks);
            toCallbacks.clear();
            for (Runnable r : ready) {
                callbacks.execute(r);
            }
        }
    }
}
