package io.mss.server.identity;

import com.fasterxml.jackson.databind.JsonNode;
import io.mss.server.config.ServerConfig;
import io.mss.server.upstream.ExpiringCache;
import io.mss.server.upstream.JsonWebhook;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The session-validation webhook (mPaaS's "user consistency check"): when a client's token
 * names no user, the app may still claim one in {@code Hello.user_id}, proving it with the
 * business session in {@code Hello.session_id}. This asks the business backend whether the two
 * belong together:
 *
 * <pre>POST session-validation-url {"userId":"…","sessionId":"…","deviceId":"…"}
 * → 2xx {"valid":true|false}</pre>
 *
 * Answers, yes and no alike, are kept per (userId, sessionId) for
 * {@code session-validation-cache-seconds}; concurrent questions about the same pair share one
 * call. A webhook that cannot answer (timeout, non-2xx, anything but a boolean {@code valid})
 * makes the future fail with {@link UnavailableException}, and nothing is kept.
 */
public final class SessionValidator implements AutoCloseable {
    /** Beyond these, a claim is refused without asking: they would only bloat the cache. */
    public static final int MAX_USER_ID_CHARS = 256;
    public static final int MAX_SESSION_ID_CHARS = 2048;
    static final int MAX_ENTRIES = 100_000;

    /** The webhook's answer, and where it came from. */
    public record Answer(boolean valid, Via via) {
    }

    public enum Via {
        /** Asked the webhook for this connection. */
        ASKED,
        /** Shared a question another connection was asking at the same time. */
        JOINED,
        /** Reused a kept answer. */
        CACHED
    }

    /** The webhook did not give a usable answer; asking again later may work. */
    public static final class UnavailableException extends Exception {
        private static final long serialVersionUID = 1L;

        public UnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private record Key(String userId, String sessionId) {
    }

    private final String url;
    private final long cacheMillis;
    private final long timeoutMillis;
    private final JsonWebhook webhook;
    private final ExpiringCache<Key, CompletableFuture<Boolean>> answers;

    public SessionValidator(ServerConfig config, Clock clock) {
        this.url = config.sessionValidationUrl == null ? "" : config.sessionValidationUrl.trim();
        this.cacheMillis = config.sessionValidationCacheSeconds * 1000L;
        this.timeoutMillis = config.sessionValidationTimeoutMs;
        this.webhook = url.isEmpty() ? null
                : new JsonWebhook("session-validation", Duration.ofMillis(timeoutMillis), 16 * 1024);
        this.answers = new ExpiringCache<>(MAX_ENTRIES, Long.MAX_VALUE, clock::millis);
    }

    /** Whether a session-validation URL is configured. */
    public boolean enabled() {
        return webhook != null;
    }

    /**
     * Whether {@code userId} and {@code sessionId} belong together. Completes on a webhook
     * thread, or at once when the answer is kept; fails with {@link UnavailableException}.
     */
    public CompletableFuture<Answer> validate(String userId, String sessionId, String deviceId) {
        if (webhook == null) {
            return CompletableFuture.failedFuture(new UnavailableException("session validation is not configured", null));
        }
        Key key = new Key(userId, sessionId);
        CompletableFuture<Boolean> mine = new CompletableFuture<>();
        // while it is asked, the question lives as long as the call may take
        CompletableFuture<Boolean> earlier = answers.putIfAbsent(key, mine, timeoutMillis + 1000, 0);
        if (earlier != null) {
            Via via = earlier.isDone() ? Via.CACHED : Via.JOINED;
            return earlier.thenApply(valid -> new Answer(valid, via));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("userId", userId);
        body.put("sessionId", sessionId);
        body.put("deviceId", deviceId);
        webhook.post(url, body).whenComplete((json, error) -> {
            if (error != null) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                answers.remove(key, mine);
                mine.completeExceptionally(new UnavailableException("the session-validation webhook failed: "
                        + cause.getMessage(), cause));
                return;
            }
            JsonNode valid = json.get("valid");
            if (valid == null || !valid.isBoolean()) {
                answers.remove(key, mine);
                mine.completeExceptionally(new UnavailableException(
                        "the session-validation webhook's answer has no boolean 'valid'", null));
                return;
            }
            if (cacheMillis > 0) {
                answers.put(key, mine, cacheMillis, 1);
            } else {
                answers.remove(key, mine);
            }
            mine.complete(valid.booleanValue());
        });
        return mine.thenApply(valid -> new Answer(valid, Via.ASKED));
    }

    /** Answers kept right now. */
    public int keptAnswers() {
        return answers.size();
    }

    @Override
    public void close() {
        if (webhook != null) {
            webhook.close();
        }
    }
}
