package io.mss.server.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mss.server.auth.ApiKeys;
import io.mss.server.cluster.ClusterBus;
import io.mss.server.cluster.NodeInfo;
import io.mss.server.config.ServerConfig;
import io.mss.server.records.RecordStore;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.StoreException;
import io.mss.server.sync.SyncEngine;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.HttpException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The HTTP API for business servers: sync configurations, pushes, delivery status and
 * operation records, JSON in and out. Every answer carries {@code success} and
 * {@code resultCode}; errors add a {@code message}.
 *
 * <p>Served by Vert.x on Netty: HTTP/1.1 with keep-alive and pipelining (answers in request
 * order), HTTP/2 in clear text (prior knowledge or upgrade) and, with {@code http-tls}, HTTPS
 * with HTTP/2 by ALPN. Threads: the event loops parse, check and answer; they never block.
 * Pushes are handed to the engine on the loop and answered back on the request's context when
 * the store's future completes. Routes that read stores (configurations, lookups, records,
 * stats, metrics) run on a bounded worker pool.
 */
public final class HttpApi implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

    /**
     * Request bodies of {@code /push/global} (a uidList of up to 10,000 userIds) and
     * {@code /push/batch} (up to 1,000 orders) may be this large; every other route takes at
     * most {@link ServerConfig#maxRequestBytes}.
     */
    static final int LARGE_REQUEST_BYTES = 8 << 20;
    /** Threads for the routes that read stores; more would only queue on the stores' own pools. */
    static final int WORKER_THREADS = 16;

    private final ServerConfig config;
    private final SyncEngine engine;
    /** Every route reads with it: duplicate keys are refused, not "last one wins". */
    private final ObjectMapper mapper = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            // "{...}garbage" or two objects in a row is refused, not read as its first object
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final StatsHistory statsHistory;
    private final Vertx vertx;
    private final Router router;
    /** One per event loop; added to from each server's own loop as it is deployed. */
    private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
    /** "GET /api/v1/biz-types/{id}" and so on: what the OpenAPI document must describe. */
    private final List<String> routes = new CopyOnWriteArrayList<>();
    /** What this node needs to serve (PostgreSQL, Redis in a cluster), by name. */
    private final Map<String, BooleanSupplier> dependencies = new LinkedHashMap<>();
    private volatile Supplier<List<NodeInfo>> nodes = List::of;
    /** Set by {@link #withTokens}; until then {@code POST /api/v1/tokens} answers 503. */
    private volatile TokenRoutes tokenRoutes;
    /** The gRPC push service: takes the requests {@link GrpcPushService#isFor} it (HTTP/2, its paths). */
    private final Handler<HttpServerRequest> grpc;
    private Path tlsCert;
    private Path tlsKey;
    private int port = -1;

    public HttpApi(ServerConfig config, String apiKey, SyncEngine engine, BizTypeStore bizTypes) {
        this(config, apiKey, engine, bizTypes, RecordStore.discarding());
    }

    public HttpApi(ServerConfig config, String apiKey, SyncEngine engine, BizTypeStore bizTypes, RecordStore records) {
        this.config = config;
        this.engine = engine;
        Clock clock = Clock.systemUTC();
        this.vertx = Vertx.vertx(new VertxOptions()
                .setEventLoopPoolSize(Math.max(1, Runtime.getRuntime().availableProcessors()))
                .setWorkerPoolSize(WORKER_THREADS)
                .setPreferNativeTransport(true)
                // static files are read from the jar as they are: nothing unpacked into a cache dir
                .setFileSystemOptions(new FileSystemOptions().setFileCachingEnabled(false)));
        ApiKeys apiKeys = new ApiKeys(config.dataPath(), apiKey);
        PushRateLimiter rateLimiter = new PushRateLimiter(config.pushRateLimitPerSecond);
        ApiAccess access = new ApiAccess(config, apiKeys, rateLimiter, new BodyReader(vertx, config.httpBodyTimeoutMs),
                mapper);
        RecordRoutes recordRoutes = new RecordRoutes(records);
        Recorder recorder = new Recorder(records, mapper, clock);
        this.grpc = new GrpcPushService(config, engine, apiKeys, rateLimiter, recorder, mapper, clock).handler(vertx);
        BizTypeRoutes bizTypeRoutes = new BizTypeRoutes(config, engine, bizTypes, mapper, recorder);
        PushRoutes pushRoutes = new PushRoutes(config, engine, mapper, recorder, clock);
        RecentAcks recentAcks = new RecentAcks();
        engine.addAckListener(recentAcks);
        LookupRoutes lookupRoutes = new LookupRoutes(engine, bizTypes, recentAcks);
        this.statsHistory = new StatsHistory(engine.metrics());
        ConsoleRoutes consoleRoutes = new ConsoleRoutes(engine.metrics(), statsHistory);

        this.router = Router.router(vertx);
        // every /api/* request: the key, then its body (a bounded read with a deadline), then
        // its signature, role and rate limit; all on the event loop, before any route
        router.route("/api/*").handler(access::authenticate).handler(access::readBody).handler(access::authorize);
        blocking(HttpMethod.POST, "/api/v1/biz-types", bizTypeRoutes::create);
        blocking(HttpMethod.GET, "/api/v1/biz-types", bizTypeRoutes::list);
        blocking(HttpMethod.GET, "/api/v1/biz-types/{id}", bizTypeRoutes::get);
        blocking(HttpMethod.PUT, "/api/v1/biz-types/{id}", bizTypeRoutes::update);
        blocking(HttpMethod.DELETE, "/api/v1/biz-types/{id}", bizTypeRoutes::delete);
        onLoop(HttpMethod.POST, "/api/v1/push", ctx -> pushRoutes.push(ctx, false));
        onLoop(HttpMethod.POST, "/api/v1/push/global", ctx -> pushRoutes.push(ctx, true));
        onLoop(HttpMethod.POST, "/api/v1/push/batch", pushRoutes::batch);
        blocking(HttpMethod.GET, "/api/v1/push/{bizType}/{oplogId}", pushRoutes::status);
        blocking(HttpMethod.GET, "/api/v1/records", recordRoutes::records);
        onLoop(HttpMethod.GET, "/health/live", ctx -> JsonAnswers.ok(ctx, Map.of()));
        blocking(HttpMethod.GET, "/api/v1/devices/{deviceId}", lookupRoutes::device);
        blocking(HttpMethod.GET, "/api/v1/users/{userId}", lookupRoutes::user);
        blocking(HttpMethod.GET, "/api/v1/stats", consoleRoutes::stats);
        blocking(HttpMethod.GET, "/api/v1/stats/history", consoleRoutes::statsHistory);
        if (config.metricsRequireKey) {
            router.get("/metrics").handler(access::authenticate).handler(access::readBody).handler(access::authorize);
        }
        blocking(HttpMethod.GET, "/metrics", consoleRoutes::metrics);
        onLoop(HttpMethod.GET, "/openapi.yaml", consoleRoutes::openApi);
        onLoop(HttpMethod.GET, "/swagger", consoleRoutes::swagger);
        onLoop(HttpMethod.GET, "/console", consoleRoutes::index);
        router.get("/console/").handler(consoleRoutes::index); // the same route; not a second operation
        onLoop(HttpMethod.GET, "/", consoleRoutes::root);
        onLoop(HttpMethod.GET, "/favicon.ico", consoleRoutes::favicon);
        onLoop(HttpMethod.GET, "/console/lib/{file}", consoleRoutes::uplot);
        blocking(HttpMethod.GET, "/health/ready", this::ready);
        blocking(HttpMethod.GET, "/api/v1/nodes", this::nodes);
        blocking(HttpMethod.POST, "/api/v1/tokens", this::mintToken);
        // the console's pages, and its libraries from WebJars at /webjars/...; read from the jar
        ClasspathFiles console = new ClasspathFiles("console/");
        router.get("/console/*").blockingHandler(console, false);
        router.get("/webjars/*").blockingHandler(new ClasspathFiles("META-INF/resources/webjars/"), false);

        router.errorHandler(404, ctx -> JsonAnswers.error(ctx, 404, "NOT_FOUND", "no such route: " + ctx.request().method()
                + " " + ctx.request().path()));
        router.errorHandler(405, ctx -> JsonAnswers.error(ctx, 405, "METHOD_NOT_ALLOWED", ctx.request().method()
                + " is not allowed on " + ctx.request().path()));
        router.route().failureHandler(this::failed);
    }

    /** A route whose handler only parses, checks and hands over: it runs on the event loop. */
    private void onLoop(HttpMethod method, String path, Handler<RoutingContext> handler) {
        route(method, path).handler(handler);
    }

    /** A route that reads a store: it runs on the worker pool, unordered (requests do not wait for each other). */
    private void blocking(HttpMethod method, String path, Handler<RoutingContext> handler) {
        route(method, path).blockingHandler(handler, false);
    }

    private Route route(HttpMethod method, String path) {
        routes.add(method.name() + " " + path);
        return router.route(method, path.replaceAll("\\{([^}]+)}", ":$1"));
    }

    private void failed(RoutingContext ctx) {
        Throwable failure = ctx.failure();
        if (ctx.response().ended() || ctx.response().closed()) {
            return; // answered already (a 408, a 413), or the caller went away
        }
        if (failure instanceof ApiException e) {
            if (ApiAccess.isPushRoute(ctx) && ctx.request().method() == HttpMethod.POST) {
                engine.metrics().push(e.resultCode());
            }
            JsonAnswers.error(ctx, e.status(), e.resultCode(), e.getMessage());
        } else if (failure instanceof SyncEngine.PushRefused e) {
            engine.metrics().push(e.resultCode());
            ApiException answer = ApiException.of(e);
            JsonAnswers.error(ctx, answer.status(), answer.resultCode(), answer.getMessage());
        } else if (failure instanceof StoreException e) {
            JsonAnswers.storeFailed(ctx, e);
        } else if (failure instanceof HttpException e) {
            JsonAnswers.error(ctx, e.getStatusCode(), "HTTP_" + e.getStatusCode(), e.getMessage());
        } else if (failure == null) {
            JsonAnswers.error(ctx, ctx.statusCode(), "HTTP_" + ctx.statusCode(), "request failed");
        } else {
            log.error("unexpected error on {} {}", ctx.request().method(), ctx.request().path(), failure);
            JsonAnswers.error(ctx, 500, "INTERNAL_ERROR", "unexpected server error; see the server log");
        }
    }

    /** Adds a dependency to {@code /health/ready}: while it is down, the node answers 503 naming it. */
    public HttpApi withDependency(String name, BooleanSupplier up) {
        dependencies.put(name, up);
        return this;
    }

    /**
     * Serves HTTPS on the HTTP port with this certificate (PEM chain, leaf first) and key, and
     * HTTP/2 by ALPN. Before {@link #start}.
     */
    public HttpApi withTls(Path cert, Path key) {
        this.tlsCert = cert;
        this.tlsKey = key;
        return this;
    }

    private void nodes(RoutingContext ctx) {
        List<NodeInfo> list;
        try {
            list = nodes.get();
        } catch (ClusterBus.Unavailable e) {
            // the nodes announce themselves in Redis: while it is away, nobody knows the list
            throw new ApiException(503, "BUS_UNAVAILABLE", "the node list is not available now: " + e.getMessage());
        }
        JsonAnswers.ok(ctx, Map.of("nodes", list));
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

    private void mintToken(RoutingContext ctx) {
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

    private void ready(RoutingContext ctx) {
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
            JsonAnswers.ok(ctx, answer);
            return;
        }
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("success", false);
        error.put("resultCode", "NOT_READY");
        error.put("message", String.join(", ", down) + (down.size() == 1 ? " is" : " are") + " unreachable");
        error.putAll(answer);
        JsonAnswers.json(ctx, 503, error);
    }

    /**
     * Listens on the HTTP port with one server per event loop, each deployed on a context of its
     * own: Vert.x gives a non-Vert.x thread one sticky context, so servers created from here
     * directly would all run on the same loop, however many there are. Vert.x shares the port
     * between the servers and spreads the connections over them.
     */
    public HttpApi start() {
        HttpServerOptions options = new HttpServerOptions()
                .setHost(config.bindHost)
                .setHttp2ClearTextEnabled(true)
                .setIdleTimeout(30)
                .setIdleTimeoutUnit(TimeUnit.SECONDS);
        if (tlsCert != null && config.httpTls) {
            options.setSsl(true).setUseAlpn(true).setKeyCertOptions(new PemKeyCertOptions()
                    .setCertPath(tlsCert.toString()).setKeyPath(tlsKey.toString()));
        }
        int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
        // a negative port is an ephemeral one shared by all servers asking for it (0 would give
        // each server its own)
        int listenPort = config.httpPort == 0 ? -1 : config.httpPort;
        try {
            vertx.deployVerticle(() -> new VerticleBase() {
                @Override
                public Future<?> start() {
                    HttpServer server = vertx.createHttpServer(options)
                            .requestHandler(HttpApi.this::request)
                            .invalidRequestHandler(HttpApi.this::invalidRequest);
                    servers.add(server);
                    return server.listen(listenPort);
                }
            }, new DeploymentOptions().setInstances(loops))
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while binding the HTTP port", e);
        } catch (Exception e) {
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
                    ? e.getCause() : e;
            throw new IllegalStateException("could not listen on " + config.bindHost + ":" + config.httpPort
                    + ": " + cause.getMessage(), cause);
        }
        this.port = servers.get(0).actualPort();
        return this;
    }

    private void request(HttpServerRequest request) {
        if (GrpcPushService.isFor(request)) {
            grpc.handle(request); // the push API over gRPC (docs/api.md); everything else is JSON
            return;
        }
        if (!BodyReader.framingAccepted(request, mapper)) {
            return; // answered, and the connection closed
        }
        router.handle(request);
    }

    /** Requests Netty could not decode (bad framing, bad Content-Length, too long a line): JSON, then close. */
    private void invalidRequest(HttpServerRequest request) {
        Throwable cause = request.decoderResult().cause();
        int status = 400;
        String code = "MALFORMED_REQUEST";
        if (cause instanceof io.netty.handler.codec.http.TooLongHttpLineException) {
            status = 414;
            code = "URI_TOO_LONG";
        } else if (cause instanceof io.netty.handler.codec.http.TooLongHttpHeaderException) {
            status = 431;
            code = "HEADERS_TOO_LARGE";
        }
        String message = "the request cannot be read as HTTP: " + (cause == null ? "malformed" : cause.getMessage());
        BodyReader.answerAndClose(request, status, JsonAnswers.errorBytes(mapper, code, message));
    }

    public int port() {
        return port;
    }

    /** The router every server shares, for a test to add a route of its own. */
    Router router() {
        return router;
    }

    /** Every route, as "METHOD /path/{param}". */
    public List<String> routes() {
        return List.copyOf(routes);
    }

    @Override
    public void close() {
        statsHistory.close();
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.warn("the HTTP server did not stop cleanly: {}", e.toString());
        }
    }

    /** The first value of a query parameter, or null. */
    static String query(RoutingContext ctx, String name) {
        List<String> values = ctx.queryParam(name);
        return values.isEmpty() ? null : values.get(0);
    }

    /** The request body as read by {@link BodyReader}, refused with 413 above {@code limit} bytes. */
    static byte[] body(RoutingContext ctx, int limit) {
        byte[] bytes = bodyBytes(ctx);
        if (bytes.length > limit) {
            throw BodyReader.tooLarge(limit);
        }
        return bytes;
    }

    static byte[] bodyBytes(RoutingContext ctx) {
        byte[] bytes = ctx.get(BodyReader.BODY);
        return bytes == null ? new byte[0] : bytes;
    }

    /** Throws unless called on a Vert.x event loop: what the push routes rely on. */
    static void checkEventLoop() {
        if (!Context.isOnEventLoopThread()) {
            throw new IllegalStateException("push routes run on an event loop, not on " + Thread.currentThread().getName());
        }
    }

    static boolean http2(HttpServerRequest request) {
        return request.version() == HttpVersion.HTTP_2;
    }
}
