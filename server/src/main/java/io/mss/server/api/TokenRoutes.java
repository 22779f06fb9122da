package io.mss.server.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.ext.web.RoutingContext;
import io.mss.server.auth.TokenVerifier;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.IntSupplier;

/**
 * {@code POST /api/v1/tokens}: a short-lived client token for the console's device simulator
 * and for tests. Admin keys only (push keys get 403 from the API's authentication): a token
 * reads a user's or device's data, which is more than a push key may do. Business servers
 * normally mint tokens themselves with the shared secret.
 */
final class TokenRoutes {
    static final int DEFAULT_TTL_SECONDS = 300;
    static final int MAX_TTL_SECONDS = 86_400;
    private static final int MAX_ID_CHARS = 256;
    private static final Set<String> FIELDS = Set.of("deviceId", "userId", "ttlSeconds");

    private final TokenVerifier tokens;
    private final ObjectMapper mapper;
    private final IntSupplier wsPort;
    private final boolean wsSecure;

    TokenRoutes(TokenVerifier tokens, ObjectMapper mapper, IntSupplier wsPort, boolean wsSecure) {
        this.tokens = tokens;
        this.mapper = mapper;
        this.wsPort = wsPort;
        this.wsSecure = wsSecure;
    }

    void mint(RoutingContext ctx) {
        JsonBody body = JsonBody.parse(mapper, HttpApi.body(ctx, 16 * 1024), FIELDS);
        String deviceId = body.requiredString("deviceId");
        String userId = body.string("userId");
        Integer ttl = body.integer("ttlSeconds");
        int ttlSeconds = ttl == null ? DEFAULT_TTL_SECONDS : ttl;
        if (deviceId.isBlank() || deviceId.length() > MAX_ID_CHARS) {
            throw ApiException.invalid("deviceId must be 1.." + MAX_ID_CHARS + " characters");
        }
        if (userId != null && userId.length() > MAX_ID_CHARS) {
            throw ApiException.invalid("userId must be at most " + MAX_ID_CHARS + " characters");
        }
        if (ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
            throw ApiException.invalid("ttlSeconds must be 1.." + MAX_TTL_SECONDS);
        }
        long expiresAt = System.currentTimeMillis() + ttlSeconds * 1000L;
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("token", tokens.mint(deviceId, userId == null || userId.isEmpty() ? null : userId, ttlSeconds));
        answer.put("deviceId", deviceId);
        answer.put("userId", userId == null || userId.isEmpty() ? null : userId);
        answer.put("expiresAt", expiresAt);
        // where a browser connects with it: the WebSocket port of this node (-1 when off)
        answer.put("wsPort", wsPort.getAsInt());
        answer.put("wsSecure", wsSecure);
        JsonAnswers.ok(ctx, answer);
    }
}
