package io.mss.client.internal;

import io.mss.protocol.Frames;

import com.google.protobuf.MessageLite;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One connection's writer thread, in the style of OkHttp's {@code RealWebSocket}: the state
 * thread enqueues frames and never blocks on the socket; this thread writes them in order and
 * flushes once the queue runs dry, so a burst costs one flush. The queue is bounded in bytes: a
 * peer that stops reading fills it, and {@link #enqueue} then refuses, which ends the connection
 * rather than the heap.
 */
final class FrameWriter implements Runnable {
    /** OkHttp's cap too; the client's own frames (Hello, Ack, Ping, upstream) are small. */
    static final long MAX_QUEUED_BYTES = 16L << 20;
    private static final byte[] END = new byte[0];

    private final OutputStream out;
    private final Runnable onWriteFailure;
    private final LinkedBlockingQueue<byte[]> queue = new LinkedBlockingQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private volatile boolean closed;

    /** @param onWriteFailure called on the writer thread when a write fails: it ends the connection */
    FrameWriter(OutputStream out, Runnable onWriteFailure) {
        this.out = out;
        this.onWriteFailure = onWriteFailure;
    }

    void start(int connectionId) {
        Thread t = new Thread(this, "mss-client-writer-" + connectionId);
        t.setDaemon(true);
        t.start();
    }

    /**
     * Queues one frame; any thread, in practice the state thread.
     *
     * @return false when the writer is closed or the queue holds {@link #MAX_QUEUED_BYTES} already
     */
    boolean enqueue(MessageLite frame) {
        if (closed) {
            return false;
        }
        byte[] bytes = Frames.encode(frame);
        if (queuedBytes.addAndGet(bytes.length) > MAX_QUEUED_BYTES) {
            queuedBytes.addAndGet(-bytes.length);
            return false;
        }
        queue.add(bytes);
        return true;
    }

    long queuedBytes() {
        return queuedBytes.get();
    }

    /** Stops the thread after what it is writing now; frames still queued are dropped with the connection. */
    void close() {
        closed = true;
        queue.clear();
        queue.add(END);
    }

    @Override
    public void run() {
        try {
            while (true) {
                byte[] frame = queue.take();
                if (frame == END || closed) {
                    return;
                }
                queuedBytes.addAndGet(-frame.length);
                out.write(frame);
                if (queue.isEmpty()) {
                    out.flush();
                }
            }
        } catch (IOException e) {
            if (!closed) {
                onWriteFailure.run();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
