package io.mss.server.api;

import io.mss.server.auth.ApiKeys;
import io.mss.server.config.ServerConfig;
import io.mss.server.records.OperationRecord;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Who may call {@code /api/*}: the key (legacy admin key or one of {@code api-keys.json}) from
 * the headers, then the body (read by {@link BodyReader}), then its signature (required when
 * require-signed-requests, verified whenever present), the key's role and the push rate limit.
 * Every step runs on the request's event loop.
 */
final class ApiAccess {
    private static final String KEY_ID = "mss.keyId";
    private static final String IDENTITY = "mss.identity";
    private static final String PRESENTED = "mss.presented";

    private final ServerConfig config;
    private final ApiKeys apiKeys;
    private final RequestSignatures signatures = new RequestSignatures();
    private final PushRateLimiter rateLimiter;
    private final BodyReader bodies;
    private final com.fasterxml.jackson.databind.ObjectMapper mapper;

    /** @param rateLimiter shared with the gRPC push service: a key's pushes count on both */
    ApiAccess(ServerConfig config, ApiKeys apiKeys, PushRateLimiter rateLimiter, BodyReader bodies,
              com.fasterxml.jackson.databind.ObjectMapper mapper) {
        this.config = config;
        this.apiKeys = apiKeys;
        this.rateLimiter = rateLimiter;
        this.bodies = bodies;
        this.mapper = mapper;
    }

    /** The key, from headers only: nobody's body is read before the key is known. */
    void authenticate(RoutingContext ctx) {
        String header = ctx.request().getHeader("Authorization");
        if (header == null || !header.startsWith("Bearer ")) {
            throw new ApiException(401, "UNAUTHORIZED", "missing 'Authorization: Bearer <MSS_API_KEY>' header");
        }
        String presented = header.substring("Bearer ".length()).trim();
        ApiKeys.Identity identity = presented.isEmpty() ? null : apiKeys.authenticate(presented);
        if (identity == null) {
            throw new ApiException(401, "UNAUTHORIZED", "invalid API key");
        }
        ctx.put(KEY_ID, identity.id());
        ctx.put(IDENTITY, identity);
        ctx.put(PRESENTED, presented);
        ctx.next();
    }

    void readBody(RoutingContext ctx) {
        String path = routedPath(ctx);
        boolean large = path.equals("/api/v1/push/global") || path.equals("/api/v1/push/batch");
        bodies.read(ctx, large ? HttpApi.LARGE_REQUEST_BYTES : config.maxRequestBytes, mapper);
    }

    /**
     * After the body: its signature (required when require-signed-requests, verified whenever
     * present), the key's role, then the push rate limit.
     */
    void authorize(RoutingContext ctx) {
        ApiKeys.Identity identity = ctx.get(IDENTITY);
        String presented = ctx.get(PRESENTED);
        HttpServerRequest request = ctx.request();
        String timestamp = request.getHeader(RequestSignatures.TIMESTAMP_HEADER);
        String signature = request.getHeader(RequestSignatures.SIGNATURE_HEADER);
        if (timestamp != null || signature != null) {
            if (timestamp == null || signature == null) {
                throw new ApiException(401, "BAD_SIGNATURE", "a signed request carries both "
                        + RequestSignatures.TIMESTAMP_HEADER + " and " + RequestSignatures.SIGNATURE_HEADER);
            }
            // the raw target as sent, path and query: what the caller signed
            signatures.verify(presented, timestamp, signature, request.method().name(), request.uri(), HttpApi.bodyBytes(ctx),
                    System.currentTimeMillis());
        } else if (config.requireSignedRequests) {
            throw new ApiException(401, "SIGNATURE_REQUIRED", "this server requires signed requests: "
                    + RequestSignatures.TIMESTAMP_HEADER + " and " + RequestSignatures.SIGNATURE_HEADER);
        }
        boolean pushRoute = isPushRoute(ctx);
        if (identity.role() != ApiKeys.Role.admin && !pushRoute) {
            throw new ApiException(403, "FORBIDDEN", "key '" + identity.id() + "' has role "
                    + identity.role() + ", which may only call POST /api/v1/push* and GET /api/v1/push/...;"
                    + " " + request.method() + " " + request.path() + " needs an admin key");
        }
        if (pushRoute && request.method() == HttpMethod.POST && rateLimiter.enabled()) {
            long waitMs = rateLimiter.take(identity.id(), System.nanoTime());
            if (waitMs > 0) {
                ctx.response().putHeader("Retry-After", Long.toString(Math.max(1, (waitMs + 999) / 1000)));
                throw new ApiException(429, "RATE_LIMITED", "key '" + identity.id() + "' exceeds "
                        + config.pushRateLimitPerSecond + " pushes per second (push-rate-limit-per-second);"
                        + " retry in " + waitMs + " ms");
            }
        }
        ctx.next();
    }

    /**
     * The path as the router matched it: percent-decoded where RFC 3986 allows, dot segments and
     * doubled slashes removed, no trailing slash. Every check that depends on the route reads this,
     * never the raw path: {@code /api/v1/push/../tokens} is routed to {@code /api/v1/tokens} and
     * must be judged as that.
     */
    static String routedPath(RoutingContext ctx) {
        String path = ctx.normalizedPath();
        return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }

    static boolean isPushRoute(RoutingContext ctx) {
        String path = routedPath(ctx);
        HttpMethod method = ctx.request().method();
        boolean push = path.equals("/api/v1/push") || path.startsWith("/api/v1/push/");
        return push && (method == HttpMethod.POST || method == HttpMethod.GET);
    }

    /** The id of the key that made the request: the actor of its operation records. */
    static String actor(RoutingContext ctx) {
        String id = ctx.get(KEY_ID);
        return id == null ? OperationRecord.API_KEY_ACTOR : id;
    }
}
