package io.mss.server.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.mss.server.auth.ApiKeys;
import io.mss.server.cluster.ClusterBus;
import io.mss.server.cluster.NodeInfo;
import io.javalin.http.HttpResponseException;
import io.javalin.http.staticfiles.Location;
import io.javalin.json.JavalinJackson;
import io.mss.server.config.ServerConfig;
import io.mss.server.records.OperationRecord;
import io.mss.server.records.RecordQuery;
import io.mss.server.records.RecordStore;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.StoreException;
import io.mss.server.sync.SyncEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The HTTP API for business servers: sync configurations, pushes, delivery status and
 * operation records, JSON in and out. Every answer carries {@code success} and
 * {@code resultCode}; errors add a {@code message}.
 */
public final class HttpApi implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

    /**
     * Request bodies of {@code /push/global} (a uidList of up to 10,000 userIds) and
     * {@code /push/batch} (up to 1,000 orders) may be this large; every other route takes at
     * most {@link ServerConfig#maxRequestBytes}.
     */
    static final int LARGE_REQUEST_BYTES = 8 << 20;
    static final int DEFAULT_RECORDS_LIMIT = 100;
    static final int MAX_RECORDS_LIMIT = 1_000;

    private final ServerConfig config;
    private final SyncEngine engine;
    private final RecordStore records;
    private final ApiKeys apiKeys;
    private final RequestSignatures signatures = new RequestSignatures();
    private final PushRateLimiter rateLimiter;
    private static final String KEY_ID_ATTRIBUTE = "mss.keyId";
    private final ObjectMapper mapper = new ObjectMapper();
    private final ExecutorService completions;
    private final Javalin app;
    /** "GET /api/v1/biz-types/{id}" and so on: what the OpenAPI document must describe. */
    private final java.util.List<String> routes = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** What this node needs to serve (PostgreSQL, Redis in a cluster), by name. */
    private final Map<String, BooleanSupplier> dependencies = new LinkedHashMap<>();
    private volatile Supplier<List<NodeInfo>> nodes = List::of;
    /** Set by {@link #withTokens}; until then {@code POST /api/v1/tokens} answers 503. */
    private volatile TokenRoutes tokenRoutes;

    public HttpApi(ServerConfig config, String apiKey, SyncEngine engine, BizTypeStore bizTypes) {
        this(config, apiKey, engine, bizTypes, RecordStore.discarding());
    }

    public HttpApi(ServerConfig config, String apiKey, SyncEngine engine, BizTypeStore bizTypes, RecordStore records) {
        this.config = config;
        this.engine = engine;
        this.records = records;
        this.apiKeys = new ApiKeys(config.dataPath(), apiKey);
        this.rateLimiter = new PushRateLimiter(config.pushRateLimitPerSecond);
        Clock clock = Clock.systemUTC();
        AtomicInteger threads = new AtomicInteger();
        // answers to pushes are written here, not on the store's writer thread that completes them
        this.completions = new ThreadPoolExecutor(4, 4, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread thread = new Thread(r, "mss-api-completion-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        Recorder recorder = new Recorder(records, mapper, clock);
        BizTypeRoutes bizTypeRoutes = new BizTypeRoutes(config, engine, bizTypes, mapper, recorder);
        PushRoutes pushRoutes = new PushRoutes(config, engine, mapper, recorder, completions, clock);
        RecentAcks recentAcks = new RecentAcks();
        engine.addAckListener(recentAcks);
        LookupRoutes lookupRoutes = new LookupRoutes(engine, bizTypes, recentAcks);
        ConsoleRoutes consoleRoutes = new ConsoleRoutes(engine.metrics());
        int maxRequestBytes = Math.max(config.maxRequestBytes, LARGE_REQUEST_BYTES);
        this.app = Javalin.create(c -> {
            c.showJavalinBanner = false;
            // Jetty caches header fields per connection and by default matches cached values
            // ignoring case: "Bearer KEY" would then also accept "Bearer key" on a reused
            // connection. API keys and signatures are case-sensitive secrets.
            c.jetty.modifyHttpConfiguration(http -> http.setHeaderCacheCaseSensitive(true));
            c.http.maxRequestSize = maxRequestBytes; // each route checks its own, lower, limit
            c.jsonMapper(new JavalinJackson(mapper, false));
            // the web console: static pages, and its libraries from WebJars at /webjars/...
            c.staticFiles.add(files -> {
                files.hostedPath = "/console";
                files.directory = "/console";
                files.location = Location.CLASSPATH;
            });
            c.staticFiles.enableWebjars();
            c.events(events -> events.handlerAdded(route -> {
                if (route.getHttpMethod().isHttpMethod()) {
                    routes.add(route.getHttpMethod() + " " + route.getPath());
                }
            }));
        });
        app.before("/api/*", this::authenticate);
        app.post("/api/v1/biz-types", bizTypeRoutes::create);
        app.get("/api/v1/biz-types", bizTypeRoutes::list);
        app.get("/api/v1/biz-types/{id}", bizTypeRoutes::get);
        app.put("/api/v1/biz-types/{id}", bizTypeRoutes::update);
        app.delete("/api/v1/biz-types/{id}", bizTypeRoutes::delete);
        app.post("/api/v1/push", ctx -> pushRoutes.push(ctx, false));
        app.post("/api/v1/push/global", ctx -> pushRoutes.push(ctx, true));
        app.post("/api/v1/push/batch", pushRoutes::batch);
        app.get("/api/v1/push/{bizType}/{oplogId}", pushRoutes::status);
        app.get("/api/v1/records", this::records);
        app.get("/health/live", ctx -> ok(ctx, Map.of()));
        app.get("/api/v1/devices/{deviceId}", lookupRoutes::device);
        app.get("/api/v1/users/{userId}", lookupRoutes::user);
        app.get("/api/v1/stats", consoleRoutes::stats);
        app.before("/metrics", ctx -> {
            if (config.metricsRequireKey) {
                authenticate(ctx);
            }
        });
        app.get("/metrics", consoleRoutes::metrics);
        app.get("/openapi.yaml", consoleRoutes::openApi);
        app.get("/swagger", consoleRoutes::swagger);
        app.get("/console", consoleRoutes::index);
        app.get("/console/lib/{file}", consoleRoutes::uplot);
        app.get("/health/ready", this::ready);
        app.get("/api/v1/nodes", this::nodes);
        app.post("/api/v1/tokens", this::mintToken);

        app.exception(ApiException.class, (e, ctx) -> {
            if (isPushRoute(ctx) && ctx.method() == HandlerType.POST) {
                engine.metrics().push(e.resultCode());
            }
            error(ctx, e.status(), e.resultCode(), e.getMessage());
        });
        app.exception(SyncEngine.PushRefused.class, (e, ctx) -> {
            engine.metrics().push(e.resultCode());
            error(ctx, e.status(), e.resultCode(), e.getMessage());
        });
        app.exception(StoreException.class, (e, ctx) -> storeFailed(ctx, e));
        app.exception(HttpResponseException.class, (e, ctx) -> {
            switch (e.getStatus()) {
                case 404 -> error(ctx, 404, "NOT_FOUND", "no such route: " + ctx.method() + " " + ctx.path());
                case 405 -> error(ctx, 405, "METHOD_NOT_ALLOWED", ctx.method() + " is not allowed on " + ctx.path());
                case 413 -> error(ctx, 413, "REQUEST_TOO_LARGE", "request body exceeds " + maxRequestBytes + " bytes");
                default -> error(ctx, e.getStatus(), "HTTP_" + e.getStatus(), e.getMessage());
            }
        });
        app.exception(Exception.class, (e, ctx) -> {
            log.error("unexpected error on {} {}", ctx.method(), ctx.path(), e);
            error(ctx, 500, "INTERNAL_ERROR", "unexpected server error; see the server log");
        });
    }

    /** Adds a dependency to {@code /health/ready}: while it is down, the node answers 503 naming it. */
    public HttpApi withDependency(String name, BooleanSupplier up) {
        dependencies.put(name, up);
        return this;
    }

    private void nodes(Context ctx) {
        List<NodeInfo> list;
        try {
            list = nodes.get();
        } catch (ClusterBus.Unavailable e) {
            // the nodes announce themselves in Redis: while it is away, nobody knows the list
            throw new ApiException(503, "BUS_UNAVAILABLE", "the node list is not available now: " + e.getMessage());
        }
        ok(ctx, Map.of("nodes", list));
    }

    /**
     * Lets {@code POST /api/v1/tokens} mint client tokens (the console's device simulator) and
     * name the WebSocket port they are for.
     */
    public HttpApi withTokens(io.mss.server.auth.TokenVerifier tokens, java.util.function.IntSupplier wsPort,
                              boolean wsSecure) {
        this.tokenRoutes = new TokenRoutes(tokens, mapper, wsPort, wsSecure);
        return this;
    }

    private void mintToken(Context ctx) {
        TokenRoutes routes = tokenRoutes;
        if (routes == null) {
            throw new ApiException(503, "NOT_READY", "this server mints no client tokens");
        }
        routes.mint(ctx);
    }

    /** What {@code GET /api/v1/nodes} lists. */
    public HttpApi withNodes(Supplier<List<NodeInfo>> nodes) {
        this.nodes = nodes;
        return this;
    }

    private void ready(Context ctx) {
        Map<String, Object> answer = new LinkedHashMap<>();
        List<String> down = new ArrayList<>();
        dependencies.forEach((name, up) -> {
            boolean isUp;
            try {
                isUp = up.getAsBoolean();
            } catch (RuntimeException e) {
                isUp = false;
            }
            answer.put(name, isUp ? "up" : "down");
            if (!isUp) {
                down.add(name);
            }
        });
        answer.put("sessions", engine.sessionCount());
        if (down.isEmpty()) {
            ok(ctx, answer);
            return;
        }
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("success", false);
        error.put("resultCode", "NOT_READY");
        error.put("message", String.join(", ", down) + (down.size() == 1 ? " is" : " are") + " unreachable");
        error.putAll(answer);
        json(ctx, 503, error);
    }

    public HttpApi start() {
        app.start(config.bindHost, config.httpPort);
        return this;
    }

    public int port() {
        return app.port();
    }

    /** Every route, as "METHOD /path/{param}". */
    public java.util.List<String> routes() {
        return java.util.List.copyOf(routes);
    }

    @Override
    public void close() {
        app.stop();
        completions.shutdown();
        try {
            if (!completions.awaitTermination(10, TimeUnit.SECONDS)) {
                completions.shutdownNow();
            }
        } catch (InterruptedException e) {
            completions.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Every {@code /api/*} request: the key (legacy admin key or one of {@code api-keys.json}),
     * then its signature (required when require-signed-requests, verified whenever present),
     * then the key's role, then the push rate limit.
     */
    private void authenticate(Context ctx) {
        String header = ctx.header("Authorization");
        if (header == null || !header.startsWith("Bearer ")) {
            throw new ApiException(401, "UNAUTHORIZED", "missing 'Authorization: Bearer <MSS_API_KEY>' header");
        }
        String presented = header.substring("Bearer ".length()).trim();
        ApiKeys.Identity identity = presented.isEmpty() ? null : apiKeys.authenticate(presented);
        if (identity == null) {
            throw new ApiException(401, "UNAUTHORIZED", "invalid API key");
        }
        String timestamp = ctx.header(RequestSignatures.TIMESTAMP_HEADER);
        String signature = ctx.header(RequestSignatures.SIGNATURE_HEADER);
        if (timestamp != null || signature != null) {
            if (timestamp == null || signature == null) {
                throw new ApiException(401, "BAD_SIGNATURE", "a signed request carries both "
                        + RequestSignatures.TIMESTAMP_HEADER + " and " + RequestSignatures.SIGNATURE_HEADER);
            }
            String query = ctx.req().getQueryString();
            String target = ctx.req().getRequestURI() + (query == null ? "" : "?" + query);
            signatures.verify(presented, timestamp, signature, ctx.method().name(), target, bodyBytes(ctx),
                    System.currentTimeMillis());
        } else if (config.requireSignedRequests) {
            throw new ApiException(401, "SIGNATURE_REQUIRED", "this server requires signed requests: "
                    + RequestSignatures.TIMESTAMP_HEADER + " and " + RequestSignatures.SIGNATURE_HEADER);
        }
        boolean pushRoute = isPushRoute(ctx);
        if (identity.role() != ApiKeys.Role.admin && !pushRoute) {
            throw new ApiException(403, "FORBIDDEN", "key '" + identity.id() + "' has role "
                    + identity.role() + ", which may only call POST /api/v1/push* and GET /api/v1/push/...;"
                    + " " + ctx.method() + " " + ctx.path() + " needs an admin key");
        }
        if (pushRoute && ctx.method() == HandlerType.POST && rateLimiter.enabled()) {
            long waitMs = rateLimiter.take(identity.id(), System.nanoTime());
            if (waitMs > 0) {
                ctx.header("Retry-After", Long.toString(Math.max(1, (waitMs + 999) / 1000)));
                throw new ApiException(429, "RATE_LIMITED", "key '" + identity.id() + "' exceeds "
                        + config.pushRateLimitPerSecond + " pushes per second (push-rate-limit-per-second);"
                        + " retry in " + waitMs + " ms");
            }
        }
        ctx.attribute(KEY_ID_ATTRIBUTE, identity.id());
    }

    private static boolean isPushRoute(Context ctx) {
        String path = ctx.path();
        boolean push = path.equals("/api/v1/push") || path.startsWith("/api/v1/push/");
        return push && (ctx.method() == HandlerType.POST || ctx.method() == HandlerType.GET);
    }

    /** The id of the key that made the request: the actor of its operation records. */
    static String actor(Context ctx) {
        String id = ctx.attribute(KEY_ID_ATTRIBUTE);
        return id == null ? OperationRecord.API_KEY_ACTOR : id;
    }

    /** {@code GET /api/v1/records?type=&bizType=&from=&to=&limit=}: newest first. */
    private void records(Context ctx) {
        OperationRecord.Type type = null;
        String typeParam = ctx.queryParam("type");
        if (typeParam != null && !typeParam.isEmpty()) {
            try {
                type = OperationRecord.Type.valueOf(typeParam);
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("'type' must be one of " + java.util.Arrays.toString(OperationRecord.Type.values())
                        + ", got '" + typeParam + "'");
            }
        }
        String bizType = ctx.queryParam("bizType");
        if (bizType != null && bizType.isEmpty()) {
            bizType = null;
        }
        if (bizType != null && bizType.length() > 64) {
            throw ApiException.invalid("'bizType' must be at most 64 characters");
        }
        long from = longParam(ctx, "from", 0);
        long to = longParam(ctx, "to", Long.MAX_VALUE);
        if (to < from) {
            throw ApiException.invalid("'to' (" + to + ") is before 'from' (" + from + ")");
        }
        long limit = longParam(ctx, "limit", DEFAULT_RECORDS_LIMIT);
        if (limit < 1 || limit > MAX_RECORDS_LIMIT) {
            throw ApiException.invalid("'limit' must be between 1 and " + MAX_RECORDS_LIMIT + ", got " + limit);
        }
        ok(ctx, Map.of("records", records.query(new RecordQuery(type, bizType, from, to, (int) limit))));
    }

    private static long longParam(Context ctx, String name, long fallback) {
        String value = ctx.queryParam(name);
        if (value == null || value.isEmpty()) {
            return fallback;
        }
        try {
            long parsed = Long.parseLong(value);
            if (parsed < 0) {
                throw new NumberFormatException();
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw ApiException.invalid("'" + name + "' must be a non-negative integer"
                    + (name.equals("limit") ? "" : " (epoch milliseconds)") + ", got '" + value + "'");
        }
    }

    /** The request body as text, refused with 413 above {@code limit} bytes. */
    static String body(Context ctx, int limit) {
        if (ctx.contentLength() > limit) {
            throw tooLarge(limit);
        }
        byte[] bytes = bodyBytes(ctx);
        if (bytes.length > limit) {
            throw tooLarge(limit);
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * The request body, read once into an array of exactly its size and kept on the request.
     * Javalin's {@code bodyAsBytes()} copies through growing buffers; on the push path that was
     * a good share of all the garbage per request.
     */
    static byte[] bodyBytes(Context ctx) {
        byte[] cached = ctx.attribute(BODY_ATTRIBUTE);
        if (cached != null) {
            return cached;
        }
        long length = ctx.contentLength();
        if (length > LARGE_REQUEST_BYTES) {
            throw tooLarge(LARGE_REQUEST_BYTES);
        }
        byte[] bytes;
        try {
            java.io.InputStream in = ctx.req().getInputStream();
            if (length >= 0) {
                bytes = new byte[(int) length];
                if (in.readNBytes(bytes, 0, bytes.length) < bytes.length) {
                    throw ApiException.invalid("the request body ended before its Content-Length");
                }
            } else {
                bytes = in.readNBytes(LARGE_REQUEST_BYTES + 1);
                if (bytes.length > LARGE_REQUEST_BYTES) {
                    throw tooLarge(LARGE_REQUEST_BYTES);
                }
            }
        } catch (java.io.IOException e) {
            throw ApiException.invalid("could not read the request body: " + e.getMessage());
        }
        ctx.attribute(BODY_ATTRIBUTE, bytes);
        return bytes;
    }

    private static final String BODY_ATTRIBUTE = "mss.body";

    private static ApiException tooLarge(int limit) {
        return new ApiException(413, "REQUEST_TOO_LARGE", "request body exceeds " + limit + " bytes");
    }

    static void ok(Context ctx, Map<String, ?> fields) {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("success", true);
        answer.put("resultCode", "OK");
        answer.putAll(fields);
        json(ctx, ctx.statusCode(), answer); // a route may have set 201 before
    }

    /**
     * Writes a JSON answer straight to the response with its exact length. Javalin's own result
     * path copies every answer through a fresh 32 KiB buffer, which at thousands of pushes a
     * second was most of the server's garbage.
     */
    static void json(Context ctx, int status, Object answer) {
        byte[] bytes = ctx.jsonMapper().toJsonString(answer, Object.class).getBytes(StandardCharsets.UTF_8);
        ctx.status(status).contentType("application/json");
        ctx.res().setContentLength(bytes.length);
        try {
            ctx.res().getOutputStream().write(bytes);
        } catch (java.io.IOException e) {
            // the caller went away; nothing more to tell it
            log.debug("could not write an answer: {}", e.toString());
        }
    }

    static void storeFailed(Context ctx, StoreException e) {
        log.error("store failure", e);
        error(ctx, 503, "STORE_UNAVAILABLE", "not stored: " + e.getMessage());
    }

    static void error(Context ctx, int status, String resultCode, String message) {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("success", false);
        answer.put("resultCode", resultCode);
        answer.put("message", message);
        json(ctx, status, answer);
    }
}
