package io.mss.server.store.postgres;

import io.mss.server.records.OperationRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Writes operation records behind the requests they describe: a push answer never waits for
 * the commit of its record. One thread takes everything queued and stores it in one
 * transaction. The queue is bounded; when the database cannot keep up, records are dropped
 * (and counted in the log) rather than slowing or failing requests.
 */
final class RecordWriter {

    static final int MAX_QUEUED = 10_000;
    static final int MAX_BATCH = 1_000;

    private static final Logger log = LoggerFactory.getLogger(RecordWriter.class);
    private static final OperationRecord STOP = OperationRecord.draft(OperationRecord.Type.PUSH, 0, "", "",
            com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode());

    private final BlockingQueue<OperationRecord> queue = new LinkedBlockingQueue<>(MAX_QUEUED);
    private final Consumer<List<OperationRecord>> store;
    private final Thread thread;
    private final Object progress = new Object();
    /** Records handed over, and records done with (stored or given up on); under {@link #progress}. */
    private long submitted;
    private long done;
    private long dropped;

    RecordWriter(Consumer<List<OperationRecord>> store) {
        this.store = store;
        this.thread = new Thread(this::run, "mss-record-writer");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    void submit(List<OperationRecord> drafts) {
        synchronized (progress) {
            for (OperationRecord draft : drafts) {
                if (queue.offer(draft)) {
                    submitted++;
                } else if (dropped++ % 1000 == 0) {
                    log.warn("operation records are written slower than they come; {} dropped so far", dropped);
                }
            }
        }
    }

    /** Waits (at most {@code millis}) until everything submitted before the call is written. */
    void awaitWritten(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        synchronized (progress) {
            long target = submitted;
            while (done < target) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return;
                }
                try {
                    progress.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Writes what is queued, then stops; returns when the thread has ended. */
    void stop() {
        if (!thread.isAlive()) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                queue.put(STOP);
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        List<OperationRecord> batch = new ArrayList<>(MAX_BATCH);
        while (true) {
            batch.clear();
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                continue;
            }
            queue.drainTo(batch, MAX_BATCH - 1);
            boolean stopping = batch.removeIf(draft -> draft == STOP);
            if (stopping) {
                // whatever was submitted while stopping goes too
                queue.drainTo(batch);
                batch.removeIf(draft -> draft == STOP);
            }
            write(batch);
            if (stopping) {
                return;
            }
        }
    }

    private void write(List<OperationRecord> batch) {
        try {
            for (int from = 0; from < batch.size(); from += MAX_BATCH) {
                store.accept(batch.subList(from, Math.min(batch.size(), from + MAX_BATCH)));
            }
        } catch (RuntimeException e) {
            log.warn("could not write {} operation record(s): {}", batch.size(), e.toString());
        }
        synchronized (progress) {
            done += batch.size();
            progress.notifyAll();
        }
    }
}
