package io.mss.server.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.mss.server.biz.BizType;
import io.mss.server.config.ServerConfig;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.StoreException;
import io.mss.server.sync.SyncEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;

/**
 * The HTTP API for business servers: sync configurations and pushes, JSON in and out.
 * Every answer carries {@code success} and {@code resultCode}; errors add a {@code message}.
 */
public final class HttpApi implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    private static final Logger events = LoggerFactory.getLogger("mss.events");

    private static final Set<String> BIZ_TYPE_FIELDS = Set.of("id", "description", "range", "target",
            "multiDevice", "persistent", "retentionDays");
    private static final Set<String> PUSH_FIELDS = Set.of("bizType", "linkToken", "payload", "thirdMsgId");
    private static final Set<String> GLOBAL_PUSH_FIELDS = Set.of("bizType", "payload", "thirdMsgId");

    private final ServerConfig config;
    private final SyncEngine engine;
    private final BizTypeStore bizTypes;
    private final byte[] apiKey;
    private final ObjectMapper mapper = new ObjectMapper();
    private final Javalin app;

    public HttpApi(ServerConfig config, String apiKey, SyncEngine engine, BizTypeStore bizTypes) {
        this.config = config;
        this.engine = engine;
        this.bizTypes = bizTypes;
        this.apiKey = apiKey.getBytes(StandardCharsets.UTF_8);
        this.app = Javalin.create(c -> {
            c.showJavalinBanner = false;
            c.http.maxRequestSize = config.maxRequestBytes;
            c.jsonMapper(new JavalinJackson(mapper, false));
        });
        app.before("/api/*", this::authenticate);
        app.post("/api/v1/biz-types", this::createBizType);
        app.get("/api/v1/biz-types", ctx -> ok(ctx, Map.of("bizTypes", bizTypes.list())));
        app.get("/api/v1/biz-types/{id}", ctx -> ok(ctx, Map.of("bizType", existing(ctx.pathParam("id")))));
        app.put("/api/v1/biz-types/{id}", this::updateBizType);
        app.delete("/api/v1/biz-types/{id}", this::deleteBizType);
        app.post("/api/v1/push", ctx -> push(ctx, false));
        app.post("/api/v1/push/global", ctx -> push(ctx, true));
        app.get("/health/live", ctx -> ok(ctx, Map.of()));
        app.get("/health/ready", ctx -> ok(ctx, Map.of("sessions", engine.sessionCount())));

        app.exception(ApiException.class, (e, ctx) -> error(ctx, e.status(), e.resultCode(), e.getMessage()));
        app.exception(SyncEngine.PushRefused.class, (e, ctx) -> error(ctx, e.status(), e.resultCode(), e.getMessage()));
        app.exception(StoreException.class, (e, ctx) -> storeFailed(ctx, e));
        app.exception(HttpResponseException.class, (e, ctx) -> {
            switch (e.getStatus()) {
                case 404 -> error(ctx, 404, "NOT_FOUND", "no such route: " + ctx.method() + " " + ctx.path());
                case 405 -> error(ctx, 405, "METHOD_NOT_ALLOWED", ctx.method() + " is not allowed on " + ctx.path());
                case 413 -> error(ctx, 413, "REQUEST_TOO_LARGE", "request body exceeds " + config.maxRequestBytes + " bytes");
                default -> error(ctx, e.getStatus(), "HTTP_" + e.getStatus(), e.getMessage());
            }
        });
        app.exception(Exception.class, (e, ctx) -> {
            log.error("unexpected error on {} {}", ctx.method(), ctx.path(), e);
            error(ctx, 500, "INTERNAL_ERROR", "unexpected server error; see the server log");
        });
    }

    public HttpApi start() {
        app.start(config.bindHost, config.httpPort);
        return this;
    }

    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }

    private void authenticate(Context ctx) {
        String header = ctx.header("Authorization");
        if (header == null || !header.startsWith("Bearer ")) {
            throw new ApiException(401, "UNAUTHORIZED", "missing 'Authorization: Bearer <MSS_API_KEY>' header");
        }
        byte[] presented = header.substring("Bearer ".length()).trim().getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(presented, apiKey)) {
            throw new ApiException(401, "UNAUTHORIZED", "invalid API key");
        }
    }

    private void push(Context ctx, boolean global) {
        JsonBody body = JsonBody.parse(mapper, ctx.body(), global ? GLOBAL_PUSH_FIELDS : PUSH_FIELDS);
        String bizType = body.requiredString("bizType");
        String linkToken = global ? null : body.requiredString("linkToken");
        String payload = body.string("payload");
        if (payload == null) {
            throw new ApiException(400, "MISSING_FIELD", "'payload' is required");
        }
        if (payload.length() > config.maxPayloadChars) {
            throw new ApiException(400, "PAYLOAD_TOO_LARGE", "payload has " + payload.length()
                    + " characters; at most " + config.maxPayloadChars + " are allowed");
        }
        String thirdMsgId = body.string("thirdMsgId");
        if (thirdMsgId != null && (thirdMsgId.isEmpty()
                || thirdMsgId.getBytes(StandardCharsets.UTF_8).length > config.maxThirdMsgIdBytes)) {
            throw new ApiException(400, "INVALID_THIRD_MSG_ID", "thirdMsgId must be 1 to "
                    + config.maxThirdMsgIdBytes + " bytes of UTF-8");
        }
        if (linkToken != null && linkToken.length() > 128) {
            throw ApiException.invalid("linkToken must be at most 128 characters");
        }
        ctx.future(() -> engine.push(new SyncEngine.Push(bizType, linkToken, payload, thirdMsgId))
                .handle((result, failure) -> {
                    if (failure != null) {
                        Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
                        if (cause instanceof StoreException store) {
                            storeFailed(ctx, store);
                        } else {
                            log.error("push failed", cause);
                            error(ctx, 500, "INTERNAL_ERROR", "unexpected server error; see the server log");
                        }
                    } else {
                        pushed(ctx, result);
                    }
                    return null;
                }));
    }

    private void pushed(Context ctx, SyncEngine.PushOutcome result) {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("success", true);
        answer.put("resultCode", result.resultCode());
        answer.put("oplogId", result.oplogId());
        if (result.delivered() >= 0) {
            answer.put("delivered", result.delivered());
        }
        ctx.status(200).json(answer);
    }

    private void createBizType(Context ctx) {
        BizType bizType = readBizType(JsonBody.parse(mapper, ctx.body(), BIZ_TYPE_FIELDS), null);
        synchronized (this) { // check-then-put: two creates of one id must not both succeed
            if (bizTypes.get(bizType.id()).isPresent()) {
                throw new ApiException(409, "BIZ_TYPE_EXISTS", "bizType '" + bizType.id() + "' already exists");
            }
            bizTypes.put(bizType);
        }
        events.info("bizType created {}", bizType);
        ctx.status(201);
        ok(ctx, Map.of("bizType", bizType));
    }

    private void updateBizType(Context ctx) {
        String id = ctx.pathParam("id");
        BizType updated;
        synchronized (this) {
            BizType current = existing(id);
            updated = readBizType(JsonBody.parse(mapper, ctx.body(), BIZ_TYPE_FIELDS), current);
            if (updated.range() != current.range() || updated.target() != current.target()) {
                throw new ApiException(409, "IMMUTABLE_FIELD", "range and target of an existing bizType cannot"
                        + " change: its oplogs are stored by them; create a new bizType instead");
            }
            bizTypes.put(updated);
        }
        events.info("bizType updated {}", updated);
        ok(ctx, Map.of("bizType", updated));
    }

    private void deleteBizType(Context ctx) {
        String id = ctx.pathParam("id");
        if (!bizTypes.delete(id)) {
            throw notFound(id);
        }
        events.info("bizType deleted {}", id);
        ok(ctx, Map.of());
    }

    private BizType existing(String id) {
        return bizTypes.get(id).orElseThrow(() -> notFound(id));
    }

    private static ApiException notFound(String id) {
        return new ApiException(404, "BIZ_TYPE_NOT_FOUND", "bizType '" + id + "' does not exist");
    }

    /** Reads a configuration; on update, absent fields keep their current values. */
    private BizType readBizType(JsonBody body, BizType current) {
        String id = body.string("id");
        if (current != null) {
            if (id != null && !id.equals(current.id())) {
                throw ApiException.invalid("'id' in the body differs from the id in the path");
            }
            id = current.id();
        } else if (id == null || id.isEmpty()) {
            throw new ApiException(400, "MISSING_FIELD", "'id' is required");
        }
        BizType.Range range = or(body.enumValue("range", BizType.Range.class),
                current == null ? BizType.Range.APPOINTED : current.range());
        BizType.Target target = or(body.enumValue("target", BizType.Target.class),
                current == null ? BizType.Target.USER : current.target());
        boolean multiDevice = or(body.bool("multiDevice"),
                current == null ? target == BizType.Target.USER && range == BizType.Range.APPOINTED
                        : current.multiDevice());
        boolean persistent = or(body.bool("persistent"), current == null || current.persistent());
        int retentionDays = or(body.integer("retentionDays"),
                current == null ? BizType.DEFAULT_RETENTION_DAYS : current.retentionDays());
        String description = or(body.string("description"), current == null ? "" : current.description());
        BizType bizType = new BizType(id, description, range, target, multiDevice, persistent, retentionDays,
                current == null ? BizType.RePushMode.ALL : current.rePushMode(),
                current == null ? 0 : current.rePushThreshold(),
                current == null ? BizType.Status.ONLINE : current.status(),
                current == null ? null : current.upstreamWebhook(),
                current == null ? null : current.receiptWebhook());
        List<String> problems = bizType.problems(config.maxRetentionDays);
        if (!problems.isEmpty()) {
            throw new ApiException(400, "INVALID_BIZ_TYPE", String.join("; ", problems));
        }
        if (target == BizType.Target.USER && !multiDevice && range == BizType.Range.APPOINTED) {
            throw new ApiException(400, "NOT_SUPPORTED", "single-device delivery (multiDevice=false) is not available"
                    + " in this version; use multiDevice=true");
        }
        if (!persistent) {
            throw new ApiException(400, "NOT_SUPPORTED", "persistent=false is not available in this version");
        }
        return bizType;
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }

    private static void ok(Context ctx, Map<String, ?> fields) {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("success", true);
        answer.put("resultCode", "OK");
        answer.putAll(fields);
        ctx.json(answer);
    }

    private static void storeFailed(Context ctx, StoreException e) {
        log.error("store failure", e);
        error(ctx, 503, "STORE_UNAVAILABLE", "the push was not stored: " + e.getMessage());
    }

    private static void error(Context ctx, int status, String resultCode, String message) {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("success", false);
        answer.put("resultCode", resultCode);
        answer.put("message", message);
        ctx.status(status).json(answer);
    }
}
