package io.mss.server.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mss.server.biz.BizType;
import io.mss.server.store.Scope;
import io.mss.server.sync.AckListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Tells a business server that a device acknowledged oplogs: for a bizType with a
 * {@code receiptWebhook}, every ack that moves a sync point forward is POSTed there as
 * {@code {"bizType","scope","owner","deviceId","userId","syncPoint","ackedAt"}}.
 *
 * <p>{@link #acked} runs on a session's event loop and never waits: it only queues. A small
 * pool of its own threads sends; a failed send (no connection, timeout, 5xx, 429) is retried
 * with exponential backoff a few times, then given up with a WARN. At most
 * {@link Options#maxPending} receipts wait at once; beyond that new ones are dropped with a
 * WARN (rate-limited), so a dead endpoint costs bounded memory and never slows delivery.
 */
public final class ReceiptWebhook implements AckListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReceiptWebhook.class);
    private static final long DROP_WARN_INTERVAL_MS = 10_000;

    /**
     * @param threads      sending threads
     * @param maxPending   receipts queued or being retried before new ones are dropped
     * @param attempts     sends per receipt, the first included
     * @param firstBackoff wait before the first retry; doubles each time (with jitter)
     * @param timeout      per send: connect and response
     */
    public record Options(int threads, int maxPending, int attempts, Duration firstBackoff, Duration timeout) {
        public static Options defaults() {
            return new Options(4, 10_000, 4, Duration.ofSeconds(1), Duration.ofSeconds(5));
        }
    }

    private final Function<String, Optional<BizType>> bizTypes;
    private final Options options;
    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http;
    private final ScheduledThreadPoolExecutor executor;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong lastDropWarning = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile boolean closed;

    /** @param bizTypes looks up a bizType's current configuration (the engine's) */
    public ReceiptWebhook(Function<String, Optional<BizType>> bizTypes, Options options) {
        this.bizTypes = bizTypes;
        this.options = options;
        AtomicInteger n = new AtomicInteger();
        this.executor = new ScheduledThreadPoolExecutor(options.threads(), r -> {
            Thread thread = new Thread(r, "mss-receipt-webhook-" + n.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        this.executor.setRemoveOnCancelPolicy(true);
        this.http = HttpClient.newBuilder()
                .connectTimeout(options.timeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                // not our pool: a blocking send() waits on tasks the client runs on its executor
                .build();
    }

    public ReceiptWebhook(Function<String, Optional<BizType>> bizTypes) {
        this(bizTypes, Options.defaults());
    }

    /** One receipt on its way: what it says and how often it was tried. */
    private final class Receipt implements Runnable {
        final URI url;
        final String bizType;
        final byte[] body;
        int attempt;

        Receipt(URI url, String bizType, byte[] body) {
            this.url = url;
            this.bizType = bizType;
            this.body = body;
        }

        @Override
        public void run() {
            attempt++;
            String failure;
            boolean retryable = true;
            try {
                HttpResponse<Void> response = http.send(HttpRequest.newBuilder(url)
                        .timeout(options.timeout())
                        .header("Content-Type", "application/json")
                        .header("User-Agent", "mss-receipt-webhook")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                        .build(), HttpResponse.BodyHandlers.discarding());
                int status = response.statusCode();
                if (status >= 200 && status < 300) {
                    delivered.incrementAndGet();
                    pending.decrementAndGet();
                    return;
                }
                failure = "HTTP " + status;
                retryable = status >= 500 || status == 429 || status == 408;
            } catch (IOException e) {
                failure = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                pending.decrementAndGet();
                return; // shutting down
            } catch (RuntimeException e) {
                failure = e.toString();
                retryable = false;
            }
            if (retryable && attempt < options.attempts() && !closed) {
                long backoff = options.firstBackoff().toMillis() << (attempt - 1);
                backoff += ThreadLocalRandom.current().nextLong(backoff / 4 + 1);
                try {
                    executor.schedule(this, backoff, TimeUnit.MILLISECONDS);
                    return;
                } catch (RuntimeException rejected) {
                    // closing
                }
            }
            pending.decrementAndGet();
            failed.incrementAndGet();
            log.warn("receipt webhook for bizType {} gave up after {} attempt(s) to {}: {}", bizType, attempt, url,
                    failure);
        }
    }

    @Override
    public void acked(String deviceId, String userId, Scope scope, long syncPoint, long ackedAt) {
        if (closed) {
            return;
        }
        Optional<BizType> bizType = bizTypes.apply(scope.bizType());
        if (bizType.isEmpty() || bizType.get().receiptWebhook() == null || bizType.get().receiptWebhook().isBlank()) {
            return;
        }
        URI url;
        try {
            url = URI.create(bizType.get().receiptWebhook());
        } catch (IllegalArgumentException e) {
            log.warn("receipt webhook of bizType {} is not a valid URL: {}", scope.bizType(), e.getMessage());
            return;
        }
        if (pending.incrementAndGet() > options.maxPending()) {
            pending.decrementAndGet();
            drop(scope.bizType());
            return;
        }
        Map<String, Object> receipt = new LinkedHashMap<>();
        receipt.put("bizType", scope.bizType());
        receipt.put("scope", scope.kind().name());
        receipt.put("owner", scope.owner());
        receipt.put("deviceId", deviceId == null || deviceId.isEmpty() ? null : deviceId);
        receipt.put("userId", userId == null || userId.isEmpty() ? null : userId);
        receipt.put("syncPoint", syncPoint);
        receipt.put("ackedAt", ackedAt);
        try {
            executor.execute(new Receipt(url, scope.bizType(), json.writeValueAsBytes(receipt)));
        } catch (JsonProcessingException | RuntimeException e) {
            pending.decrementAndGet();
            if (!closed) {
                log.warn("could not queue a receipt for bizType {}: {}", scope.bizType(), e.toString());
            }
        }
    }

    private void drop(String bizType) {
        long count = dropped.incrementAndGet();
        long now = System.currentTimeMillis();
        long last = lastDropWarning.get();
        if (now - last >= DROP_WARN_INTERVAL_MS && lastDropWarning.compareAndSet(last, now)) {
            log.warn("receipt webhook queue is full ({} pending): dropped a receipt for bizType {} ({} dropped so far)",
                    options.maxPending(), bizType, count);
        }
    }

    /** Receipts sent and answered 2xx. */
    public long delivered() {
        return delivered.get();
    }

    /** Receipts given up after their last attempt. */
    public long failed() {
        return failed.get();
    }

    /** Receipts dropped because the queue was full. */
    public long dropped() {
        return dropped.get();
    }

    /** Receipts queued, being sent or waiting for a retry. */
    public int pending() {
        return pending.get();
    }

    @Override
    public void close() {
        closed = true;
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        int left = pending.get();
        if (left > 0) {
            log.warn("receipt webhook stopped with {} receipt(s) not sent", left);
        }
    }
}
