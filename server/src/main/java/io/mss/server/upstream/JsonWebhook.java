package io.mss.server.upstream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * POSTs JSON to a business backend and reads a JSON answer, asynchronously, with a deadline
 * and a cap on the answer's size. Nothing runs on the caller's thread: the request is started
 * and completed on this webhook's own threads, so a Netty event loop may call {@link #post}
 * and hop back onto itself when the future completes.
 */
public final class JsonWebhook implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    private final ExecutorService executor;
    private final HttpClient http;
    private final Duration timeout;
    private final int maxAnswerBytes;

    /** What went wrong, sorted by what the caller can tell the client. */
    public enum Failure {
        /** No answer within the deadline; the backend may or may not have received the request. */
        TIMEOUT,
        /** The backend could not be reached; it did not receive the request. */
        UNREACHABLE,
        /** A non-2xx status, an answer that is not a JSON object or too large, or a broken exchange. */
        ERROR
    }

    /** Why a call did not produce a 2xx JSON answer. */
    public static final class WebhookException extends Exception {
        private static final long serialVersionUID = 1L;
        private final Failure failure;
        private final int status;

        WebhookException(Failure failure, int status, String message, Throwable cause) {
            super(message, cause);
            this.failure = failure;
            this.status = status;
        }

        public Failure failure() {
            return failure;
        }

        /** The HTTP status when the backend answered, else 0. */
        public int status() {
            return status;
        }
    }

    /**
     * @param name           names the threads, e.g. "upstream"
     * @param timeout        the deadline for the whole exchange, connect included
     * @param maxAnswerBytes a larger answer body is an {@link Failure#ERROR}
     */
    public JsonWebhook(String name, Duration timeout, int maxAnswerBytes) {
        this.timeout = timeout;
        this.maxAnswerBytes = maxAnswerBytes;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "mss-" + name + "-webhook-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.executor = Executors.newCachedThreadPool(threads);
        this.http = HttpClient.newBuilder()
                .executor(executor)
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(timeout)
                .build();
    }

    /**
     * POSTs {@code body} as JSON to {@code url}. Completes with the answer's JSON on a 2xx
     * status, or exceptionally with a {@link WebhookException}.
     */
    public CompletableFuture<JsonNode> post(String url, Object body) {
        CompletableFuture<JsonNode> result = new CompletableFuture<>();
        CompletableFuture<HttpResponse<byte[]>> exchange;
        AtomicReference<CompletableFuture<HttpResponse<byte[]>>> call = new AtomicReference<>();
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                    .timeout(timeout)
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                    .build();
            // started on our own thread: building the exchange may resolve a host name
            exchange = CompletableFuture.supplyAsync(() -> {
                CompletableFuture<HttpResponse<byte[]>> sent = http.sendAsync(request, info -> limited());
                call.set(sent);
                return sent;
            }, executor).thenCompose(f -> f);
        } catch (IllegalArgumentException | JsonProcessingException e) {
            result.completeExceptionally(new WebhookException(Failure.UNREACHABLE, 0,
                    "cannot call " + url + ": " + e.getMessage(), e));
            return result;
        } catch (RuntimeException e) {
            // the executor was shut down: the server is stopping
            result.completeExceptionally(new WebhookException(Failure.UNREACHABLE, 0,
                    "the server is shutting down", e));
            return result;
        }
        // the request timeout covers the headers; this covers the body too
        exchange.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((response, error) -> {
            if (error != null) {
                CompletableFuture<HttpResponse<byte[]>> sent = call.get();
                if (sent != null) {
                    sent.cancel(true); // gives the connection back when we gave up waiting
                }
                result.completeExceptionally(classify(url, unwrap(error)));
                return;
            }
            int status = response.statusCode();
            if (status < 200 || status > 299) {
                result.completeExceptionally(new WebhookException(Failure.ERROR, status,
                        "the webhook answered HTTP " + status, null));
                return;
            }
            try {
                JsonNode json = JSON.readTree(response.body());
                if (json == null || !json.isObject()) {
                    throw new IOException("not a JSON object");
                }
                result.complete(json);
            } catch (IOException e) {
                result.completeExceptionally(new WebhookException(Failure.ERROR, status,
                        "the webhook answered HTTP " + status + " with a body that is not a JSON object", e));
            }
        });
        return result;
    }

    private WebhookException classify(String url, Throwable error) {
        if (error instanceof HttpConnectTimeoutException) {
            return new WebhookException(Failure.UNREACHABLE, 0, "could not connect to the webhook within "
                    + timeout.toMillis() + " ms", error);
        }
        if (error instanceof HttpTimeoutException || error instanceof TimeoutException) {
            return new WebhookException(Failure.TIMEOUT, 0, "the webhook did not answer within "
                    + timeout.toMillis() + " ms", error);
        }
        if (error instanceof ConnectException) {
            return new WebhookException(Failure.UNREACHABLE, 0, "cannot connect to the webhook at "
                    + hostAndPort(url) + (error.getMessage() == null ? "" : ": " + error.getMessage()), error);
        }
        if (error instanceof AnswerTooLarge) {
            return new WebhookException(Failure.ERROR, 0, error.getMessage(), error);
        }
        return new WebhookException(Failure.ERROR, 0, "the call to the webhook failed: " + error, error);
    }

    private static String hostAndPort(String url) {
        URI uri = URI.create(url);
        return uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort());
    }

    private static Throwable unwrap(Throwable error) {
        while (error instanceof CompletionException && error.getCause() != null) {
            error = error.getCause();
        }
        return error;
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }

    private static final class AnswerTooLarge extends IOException {
        private static final long serialVersionUID = 1L;

        AnswerTooLarge(String message) {
            super(message);
        }
    }

    /** Collects the body, failing as soon as it grows past the cap. */
    private HttpResponse.BodySubscriber<byte[]> limited() {
        return new HttpResponse.BodySubscriber<>() {
            private final CompletableFuture<byte[]> body = new CompletableFuture<>();
            private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            private Flow.Subscription subscription;

            @Override
            public CompletionStage<byte[]> getBody() {
                return body;
            }

            @Override
            public void onSubscribe(Flow.Subscription s) {
                subscription = s;
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(List<ByteBuffer> items) {
                if (body.isDone()) {
                    return;
                }
                for (ByteBuffer item : items) {
                    if (bytes.size() + (long) item.remaining() > maxAnswerBytes) {
                        subscription.cancel();
                        body.completeExceptionally(new AnswerTooLarge("the webhook's answer exceeds "
                                + maxAnswerBytes + " bytes"));
                        return;
                    }
                    byte[] chunk = new byte[item.remaining()];
                    item.get(chunk);
                    bytes.write(chunk, 0, chunk.length);
                }
            }

            @Override
            public void onError(Throwable throwable) {
                body.completeExceptionally(throwable);
            }

            @Override
            public void onComplete() {
                body.complete(bytes.toByteArray());
            }
        };
    }
}
