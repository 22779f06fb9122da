package io.mss.client.internal;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs tasks one at a time, in submission order, on any executor, even a multi-threaded one:
 * this is what keeps callbacks of a scope in id order and never concurrent.
 *
 * <p>Drains its queue in a loop rather than resubmitting per task, so that a direct executor
 * ({@code Runnable::run}) does not recurse once per queued task.
 */
final class SerialExecutor implements Executor {
    private static final Logger LOG = Logger.getLogger("io.mss.client");

    private final Executor delegate;
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    private boolean draining;

    SerialExecutor(Executor delegate) {
        this.delegate = delegate;
    }

    @Override
    public void execute(Runnable task) {
        synchronized (this) {
            queue.add(task);
            if (draining) {
                return;
            }
            draining = true;
        }
        try {
            delegate.execute(this::drain);
        } catch (RejectedExecutionException e) {
            int dropped;
            synchronized (this) {
                dropped = queue.size();
                queue.clear();
                draining = false;
            }
            LOG.log(Level.SEVERE, "callback executor rejected work, dropped " + dropped + " callbacks", e);
        }
    }

    private void drain() {
        while (true) {
            Runnable task;
            synchronized (this) {
                task = queue.poll();
                if (task == null) {
                    draining = false;
                    return;
                }
            }
            try {
                task.run();
            } catch (Throwable t) {
                LOG.log(Level.WARNING, "callback threw", t);
            }
        }
    }
}
