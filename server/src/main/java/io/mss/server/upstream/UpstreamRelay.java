package io.mss.server.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import io.mss.protocol.v1.UpstreamMessage;
import io.mss.protocol.v1.UpstreamResult;
import io.mss.server.biz.BizType;
import io.mss.server.config.ServerConfig;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.function.Function;

/**
 * Relays the apps' upstream messages to their bizType's upstream webhook and answers each with
 * an {@link UpstreamResult}.
 *
 * <p><b>Idempotency</b>, by (deviceId, client_msg_id): a resend while the first is being
 * forwarded joins it; a resend after it was answered gets that same answer, from any
 * connection of the device, for {@link #RESULT_TTL} — it is not forwarded again. Every result
 * of a message that reached the webhook is kept, failures included: a webhook that timed out
 * may have acted on it. Not kept, so a resend is tried afresh: refusals before forwarding
 * ({@code INVALID_REQUEST}, {@code BIZ_TYPE_NOT_FOUND}, {@code NO_WEBHOOK}, {@code SERVER_BUSY})
 * and webhooks that could not be reached at all.
 *
 * <p>Forwarding is bounded server-wide by {@code upstream-max-in-flight}; a message beyond it
 * is answered {@code SERVER_BUSY} at once.
 */
public final class UpstreamRelay implements AutoCloseable {
    public static final String INVALID_REQUEST = "INVALID_REQUEST";
    public static final String BIZ_TYPE_NOT_FOUND = "BIZ_TYPE_NOT_FOUND";
    public static final String NO_WEBHOOK = "NO_WEBHOOK";
    public static final String SERVER_BUSY = "SERVER_BUSY";
    public static final String WEBHOOK_TIMEOUT = "WEBHOOK_TIMEOUT";
    public static final String WEBHOOK_ERROR = "WEBHOOK_ERROR";

    public static final int MAX_CLIENT_MSG_ID_CHARS = 64;
    /** The webhook's {@code code} is relayed as is, up to this length. */
    public static final int MAX_CODE_CHARS = 128;
    public static final Duration RESULT_TTL = Duration.ofHours(24);
    public static final int MAX_RESULTS = 100_000;
    /** Kept results' payloads, in chars: about 64 MiB of heap at most. */
    public static final long MAX_RESULT_CHARS = 32L << 20;

    /** How a message got its answer. */
    public enum Via {
        /** Sent to the webhook by this message. */
        FORWARDED,
        /** A resend while the first was being forwarded. */
        JOINED,
        /** A resend answered from the kept result. */
        CACHED,
        /** Refused without calling the webhook. */
        REFUSED
    }

    public record Outcome(UpstreamResult result, Via via) {
    }

    private record Key(String deviceId, String clientMsgId) {
    }

    private final Function<String, Optional<BizType>> bizTypes;
    private final int maxPayloadChars;
    private final int maxInFlight;
    private final Semaphore permits;
    private final JsonWebhook webhook;
    private final ExpiringCache<Key, CompletableFuture<UpstreamResult>> results;

    /** @param bizTypes looks up a bizType's configuration, e.g. {@code engine::bizType} */
    public UpstreamRelay(ServerConfig config, Function<String, Optional<BizType>> bizTypes, Clock clock) {
        this.bizTypes = bizTypes;
        this.maxPayloadChars = config.maxPayloadChars;
        this.maxInFlight = config.upstreamMaxInFlight;
        this.permits = new Semaphore(config.upstreamMaxInFlight);
        // room for the payload as JSON-escaped UTF-8 plus the code and the envelope
        this.webhook = new JsonWebhook("upstream", Duration.ofMillis(config.upstreamTimeoutMs),
                config.maxPayloadChars * 6 + 4096);
        this.results = new ExpiringCache<>(MAX_RESULTS, MAX_RESULT_CHARS, clock::millis);
    }

    /**
     * Answers one upstream message of a connected device. Never completes exceptionally.
     *
     * @param userId the session's verified user, null when anonymous
     */
    public CompletableFuture<Outcome> relay(String userId, String deviceId, UpstreamMessage message) {
        String id = message.getClientMsgId();
        if (id.isEmpty() || id.length() > MAX_CLIENT_MSG_ID_CHARS) {
            return refused(message, INVALID_REQUEST, "client_msg_id must be 1 to " + MAX_CLIENT_MSG_ID_CHARS
                    + " characters");
        }
        if (message.getBizType().isEmpty()) {
            return refused(message, INVALID_REQUEST, "biz_type is required");
        }
        // characters as a person counts them (code points), as the push API counts them
        int characters = message.getPayload().codePointCount(0, message.getPayload().length());
        if (characters > maxPayloadChars) {
            return refused(message, INVALID_REQUEST, "payload of " + characters
                    + " characters exceeds the limit of " + maxPayloadChars);
        }
        Optional<BizType> bizType = bizTypes.apply(message.getBizType());
        if (bizType.isEmpty()) {
            return refused(message, BIZ_TYPE_NOT_FOUND, "bizType '" + message.getBizType() + "' does not exist");
        }
        String url = bizType.get().upstreamWebhook();
        if (url == null || url.isBlank()) {
            return refused(message, NO_WEBHOOK, "bizType '" + message.getBizType()
                    + "' has no upstreamWebhook configured");
        }

        Key key = new Key(deviceId, id);
        CompletableFuture<UpstreamResult> mine = new CompletableFuture<>();
        CompletableFuture<UpstreamResult> first = results.putIfAbsent(key, mine, RESULT_TTL.toMillis(), 0);
        if (first != null) {
            Via via = first.isDone() ? Via.CACHED : Via.JOINED;
            return first.thenApply(r -> new Outcome(r, via));
        }
        if (!permits.tryAcquire()) {
            results.remove(key, mine);
            mine.complete(failure(message, SERVER_BUSY, maxInFlight
                    + " upstream messages are being forwarded already; try again later"));
            return mine.thenApply(r -> new Outcome(r, Via.REFUSED));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("bizType", message.getBizType());
        body.put("userId", userId);
        body.put("deviceId", deviceId);
        body.put("clientMsgId", id);
        body.put("payload", message.getPayload());
        webhook.post(url, body).whenComplete((answer, error) -> {
            permits.release();
            boolean keep = true;
            UpstreamResult result;
            if (error == null) {
                result = answered(message, answer);
            } else {
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                if (cause instanceof JsonWebhook.WebhookException failed) {
                    keep = failed.failure() != JsonWebhook.Failure.UNREACHABLE;
                    result = failure(message, failed.failure() == JsonWebhook.Failure.TIMEOUT
                            ? WEBHOOK_TIMEOUT : WEBHOOK_ERROR, failed.getMessage());
                } else {
                    keep = false;
                    result = failure(message, WEBHOOK_ERROR, "the call to the webhook failed: " + cause);
                }
            }
            // the kept result is in place before anyone hears of it: a resend after this answer sees it
            if (keep) {
                results.put(key, mine, RESULT_TTL.toMillis(), weight(result));
            } else {
                results.remove(key, mine);
            }
            mine.complete(result);
        });
        return mine.thenApply(r -> new Outcome(r, Via.FORWARDED));
    }

    private UpstreamResult answered(UpstreamMessage message, JsonNode answer) {
        JsonNode code = answer.path("code");
        JsonNode payload = answer.path("payload");
        if (!(code.isMissingNode() || code.isNull() || code.isTextual())
                || !(payload.isMissingNode() || payload.isNull() || payload.isTextual())) {
            return failure(message, WEBHOOK_ERROR, "the webhook's answer must be {\"code\":\"...\",\"payload\":\"...\"}"
                    + " with string values");
        }
        if (code.asText("").length() > MAX_CODE_CHARS) {
            return failure(message, WEBHOOK_ERROR, "the webhook's code exceeds " + MAX_CODE_CHARS + " characters");
        }
        String answered = payload.asText("");
        if (answered.codePointCount(0, answered.length()) > maxPayloadChars) {
            return failure(message, WEBHOOK_ERROR, "the webhook's payload exceeds " + maxPayloadChars + " characters");
        }
        return UpstreamResult.newBuilder()
                .setClientMsgId(message.getClientMsgId())
                .setSuccess(true)
                .setCode(code.isTextual() ? code.asText() : "")
                .setPayload(payload.isTextual() ? payload.asText() : "")
                .build();
    }

    private static long weight(UpstreamResult result) {
        return 64L + result.getClientMsgId().length() + result.getCode().length() + result.getPayload().length()
                + result.getMessage().length();
    }

    private static CompletableFuture<Outcome> refused(UpstreamMessage message, String code, String why) {
        return CompletableFuture.completedFuture(new Outcome(failure(message, code, why), Via.REFUSED));
    }

    private static UpstreamResult failure(UpstreamMessage message, String code, String why) {
        return UpstreamResult.newBuilder()
                .setClientMsgId(message.getClientMsgId())
                .setSuccess(false)
                .setCode(code)
                .setMessage(why)
                .build();
    }

    /** Forwards in progress right now. */
    public int inFlight() {
        return maxInFlight - permits.availablePermits();
    }

    /** Results kept for resends right now. */
    public int keptResults() {
        return results.size();
    }

    @Override
    public void close() {
        webhook.close();
    }
}
