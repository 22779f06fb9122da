package io.mss.server.api;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import io.mss.server.biz.BizType;
import io.mss.server.config.ServerConfig;
import io.mss.server.records.OperationRecord;
import io.mss.server.store.Scope;
import io.mss.server.store.ScopeHead;
import io.mss.server.store.StoreException;
import io.mss.server.store.SyncPointStore;
import io.mss.server.sync.SyncEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * {@code /api/v1/push}: single, global and batch pushes, and the delivery status of an oplog.
 * Pushes are parsed on the event loop and answered on it; the delivery status reads stores on a worker.
 */
final class PushRoutes {
    private static final Logger log = LoggerFactory.getLogger(PushRoutes.class);

    static final int MAX_BATCH_ORDERS = 1_000;
    /** What a device that acked a single-device scope is shown as: the sync point belongs to the user. */
    static final String USER_OWNED_DEVICE = "(user)";

    private final ServerConfig config;
    private final SyncEngine engine;
    private final ObjectMapper mapper;
    private final Recorder recorder;
    private final Clock clock;
    private final PushParser parser;

    PushRoutes(ServerConfig config, SyncEngine engine, ObjectMapper mapper, Recorder recorder, Clock clock) {
        this.config = config;
        this.engine = engine;
        this.mapper = mapper;
        this.recorder = recorder;
        this.clock = clock;
        this.parser = new PushParser(config, engine::bizType);
    }

    /**
     * {@code POST /api/v1/push} and {@code POST /api/v1/push/global}. On the event loop: the
     * body is parsed and checked here and handed to the engine; the answer is written back on
     * this request's context when the engine's future completes (on the store's commit thread).
     * A push naming a bizType this node has not cached is handed over from a worker instead.
     */
    void push(RoutingContext ctx, boolean global) {
        HttpApi.checkEventLoop();
        // a global push may carry a uidList of 10,000 userIds: more than a plain push needs
        byte[] raw = HttpApi.body(ctx, global ? HttpApi.LARGE_REQUEST_BYTES : config.maxRequestBytes);
        JsonBody body = JsonBody.parse(mapper, raw, global ? PushParser.GLOBAL_FIELDS : PushParser.FIELDS);
        String bizType = body.node("bizType") != null && body.node("bizType").isTextual()
                ? body.node("bizType").textValue() : null;
        Context context = Vertx.currentContext();
        if (bizType != null && !engine.knowsBizType(bizType)) {
            // the engine reads an id it has not cached from the store: not on the event loop
            context.<Void>executeBlocking(() -> {
                push(ctx, body, global, context);
                return null;
            }, false).onFailure(ctx::fail);
            return;
        }
        push(ctx, body, global, context);
    }

    /** @param context the request's: where the answer is written */
    private void push(RoutingContext ctx, JsonBody body, boolean global, Context context) {
        SyncEngine.Push push = parser.read(body, global, clock.millis());
        CompletableFuture<SyncEngine.PushOutcome> pushed = engine.push(push); // PushRefused: mapped by HttpApi
        pushed.whenComplete((outcome, failure) -> context.runOnContext(v -> {
            if (failure != null) {
                Throwable cause = unwrap(failure);
                engine.metrics().push(cause instanceof StoreException ? "STORE_UNAVAILABLE" : "INTERNAL_ERROR");
                if (cause instanceof StoreException store) {
                    JsonAnswers.storeFailed(ctx, store);
                } else {
                    log.error("push failed", cause);
                    JsonAnswers.error(ctx, 500, "INTERNAL_ERROR", "unexpected server error; see the server log");
                }
                return;
            }
            recorder.record(ctx, global ? OperationRecord.Type.PUSH_GLOBAL : OperationRecord.Type.PUSH, push.bizType(),
                    pushDetail(push, outcome, -1));
            engine.metrics().push(outcome.resultCode());
            JsonAnswers.json(ctx, 200, pushAnswer(outcome));
        }));
    }

    /** {@code {"success":true,"resultCode":…,"oplogId":N[,"delivered":N]}}, straight to bytes. */
    private byte[] pushAnswer(SyncEngine.PushOutcome outcome) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(80);
        try (JsonGenerator json = mapper.getFactory().createGenerator(out)) {
            json.writeStartObject();
            json.writeBooleanField("success", true);
            json.writeStringField("resultCode", outcome.resultCode());
            json.writeNumberField("oplogId", outcome.oplogId());
            if (outcome.delivered() >= 0) {
                json.writeNumberField("delivered", outcome.delivered());
            }
            json.writeEndObject();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * {@code POST /api/v1/push/batch}: every order is checked first, then every valid one is
     * handed to the engine before any is waited for, so the store's single writer commits them
     * together (one fsync for up to 1,024 appends). One bad order gets its own error result.
     * Threads as for {@link #push}.
     */
    void batch(RoutingContext ctx) {
        HttpApi.checkEventLoop();
        JsonBody body = JsonBody.parse(mapper, HttpApi.body(ctx, HttpApi.LARGE_REQUEST_BYTES), Set.of("orders"));
        JsonNode orders = body.node("orders");
        if (orders == null) {
            throw new ApiException(400, "MISSING_FIELD", "'orders' is required: an array of pushes");
        }
        if (!orders.isArray()) {
            throw ApiException.invalid("'orders' must be an array of pushes");
        }
        if (orders.isEmpty()) {
            throw ApiException.invalid("'orders' is empty: send 1 to " + MAX_BATCH_ORDERS + " pushes");
        }
        if (orders.size() > MAX_BATCH_ORDERS) {
            throw new ApiException(400, "BATCH_TOO_LARGE", "'orders' has " + orders.size() + " pushes; at most "
                    + MAX_BATCH_ORDERS + " are allowed per batch");
        }
        Set<String> unknown = new java.util.HashSet<>();
        for (JsonNode order : orders) {
            JsonNode bizType = order.get("bizType");
            if (bizType != null && bizType.isTextual() && !engine.knowsBizType(bizType.textValue())) {
                unknown.add(bizType.textValue());
            }
        }
        Context context = Vertx.currentContext();
        if (unknown.isEmpty()) {
            batch(ctx, orders, context);
            return;
        }
        context.<Void>executeBlocking(() -> {
            batch(ctx, orders, context);
            return null;
        }, false).onFailure(ctx::fail);
    }

    /** @param context the request's: where the answer is written */
    private void batch(RoutingContext ctx, JsonNode orders, Context context) {
        int count = orders.size();
        long now = clock.millis();
        SyncEngine.Push[] pushes = new SyncEngine.Push[count];
        ObjectNode[] results = new ObjectNode[count];
        for (int i = 0; i < count; i++) {
            JsonNode order = orders.get(i);
            try {
                if (!(order instanceof ObjectNode object)) {
                    throw ApiException.invalid("each order must be a JSON object");
                }
                JsonBody fields = JsonBody.of(object, PushParser.FIELDS);
                boolean global = fields.node("linkToken") == null;
                pushes[i] = parser.read(fields, global, now);
            } catch (ApiException e) {
                results[i] = failed(i, e.resultCode(), e.getMessage());
            }
        }
        // all valid orders are queued before any is waited for: they share group commits
        @SuppressWarnings("unchecked")
        CompletableFuture<SyncEngine.PushOutcome>[] futures = new CompletableFuture[count];
        for (int i = 0; i < count; i++) {
            if (pushes[i] == null) {
                continue;
            }
            try {
                futures[i] = engine.push(pushes[i]);
            } catch (SyncEngine.PushRefused e) {
                results[i] = failed(i, e.resultCode(), e.getMessage());
                pushes[i] = null;
            } catch (StoreException e) {
                results[i] = failed(i, "STORE_UNAVAILABLE", "not stored: " + e.getMessage());
                pushes[i] = null;
            }
        }
        List<CompletableFuture<SyncEngine.PushOutcome>> pending = new ArrayList<>();
        for (CompletableFuture<SyncEngine.PushOutcome> future : futures) {
            if (future != null) {
                pending.add(future);
            }
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(pending.toArray(new CompletableFuture[0]));
        all.whenComplete((ignored, failure) -> context.runOnContext(v -> {
            List<OperationRecord> records = new ArrayList<>();
            int accepted = 0;
            for (int i = 0; i < count; i++) {
                if (futures[i] == null) {
                    continue;
                }
                try {
                    SyncEngine.PushOutcome outcome = futures[i].join();
                    ObjectNode result = mapper.createObjectNode();
                    result.put("index", i);
                    result.put("success", true);
                    result.put("resultCode", outcome.resultCode());
                    result.put("oplogId", outcome.oplogId());
                    engine.metrics().push(outcome.resultCode());
                    if (outcome.delivered() >= 0) {
                        result.put("delivered", outcome.delivered());
                    }
                    results[i] = result;
                    records.add(recorder.draft(ctx, pushes[i].linkToken() == null ? OperationRecord.Type.PUSH_GLOBAL
                            : OperationRecord.Type.PUSH, pushes[i].bizType(), pushDetail(pushes[i], outcome, i)));
                } catch (CompletionException | java.util.concurrent.CancellationException e) {
                    Throwable cause = unwrap(e);
                    if (cause instanceof StoreException store) {
                        log.error("store failure in a batch", store);
                        results[i] = failed(i, "STORE_UNAVAILABLE", "not stored: " + store.getMessage());
                    } else {
                        log.error("batch order {} failed", i, cause);
                        results[i] = failed(i, "INTERNAL_ERROR", "unexpected server error; see the server log");
                    }
                }
            }
            recorder.recordAll(records);
            for (ObjectNode result : results) {
                if (result.path("success").asBoolean()) {
                    accepted++;
                }
            }
            JsonAnswers.json(ctx, 200, batchAnswer(accepted, count - accepted, results));
        }));
    }

    /** The batch's answer, written straight to bytes: no tree around the results. */
    private byte[] batchAnswer(int accepted, int failed, ObjectNode[] results) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(64 + 80 * results.length);
        try (JsonGenerator json = mapper.getFactory().createGenerator(out)) {
            json.writeStartObject();
            json.writeBooleanField("success", true);
            json.writeStringField("resultCode", "OK");
            json.writeNumberField("accepted", accepted);
            json.writeNumberField("failed", failed);
            json.writeArrayFieldStart("results");
            for (ObjectNode result : results) {
                mapper.writeTree(json, result);
            }
            json.writeEndArray();
            json.writeEndObject();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** {@code GET /api/v1/push/{bizType}/{oplogId}?linkToken=X}: which devices have the oplog, and since when. */
    void status(RoutingContext ctx) {
        String bizTypeId = ctx.pathParam("bizType");
        long oplogId;
        try {
            oplogId = Long.parseLong(ctx.pathParam("oplogId"));
        } catch (NumberFormatException e) {
            throw ApiException.invalid("oplogId must be a positive integer, got '" + ctx.pathParam("oplogId") + "'");
        }
        if (oplogId < 1) {
            throw ApiException.invalid("oplogId must be a positive integer, got " + oplogId);
        }
        BizType bizType = engine.bizType(bizTypeId).orElseThrow(() -> BizTypeRoutes.notFound(bizTypeId));
        String linkToken = HttpApi.query(ctx, "linkToken");
        if (bizType.range() == BizType.Range.GLOBAL) {
            if (linkToken != null) {
                throw new ApiException(400, "RANGE_MISMATCH", "bizType '" + bizTypeId
                        + "' has range GLOBAL: its oplogs have no linkToken; omit it");
            }
        } else if (linkToken == null || linkToken.isEmpty()) {
            throw new ApiException(400, "MISSING_FIELD", "'linkToken' is required for bizType '" + bizTypeId
                    + "' (range APPOINTED): the " + (bizType.target() == BizType.Target.USER ? "userId" : "deviceId")
                    + " the oplog was pushed to");
        } else if (linkToken.length() > PushParser.MAX_LINK_TOKEN_CHARS) {
            throw ApiException.invalid("linkToken must be at most " + PushParser.MAX_LINK_TOKEN_CHARS + " characters");
        }
        if (!bizType.persistent()) {
            throw new ApiException(404, "OPLOG_NOT_FOUND", "bizType '" + bizTypeId + "' is not persistent: its"
                    + " pushes are not stored and have no delivery status");
        }
        Scope scope = bizType.scopeForLinkToken(linkToken);
        ScopeHead head = engine.head(scope);
        long lastId = head.lastId();
        if (oplogId > lastId) {
            throw new ApiException(404, "OPLOG_NOT_FOUND", "no oplog " + oplogId + " in " + describe(scope)
                    + " (its last id is " + lastId + ")");
        }
        List<Map<String, Object>> acked = new ArrayList<>();
        for (SyncPointStore.DeviceSyncPoint point : engine.deliveryStatus(scope)) {
            // a sync point of another timeline says nothing about this oplog
            boolean onThisTimeline = point.epoch() == 0 || point.epoch() == head.epoch();
            if (onThisTimeline && point.syncPoint() >= oplogId) {
                Map<String, Object> device = new LinkedHashMap<>();
                device.put("deviceId", SyncPointStore.USER_OWNED.equals(point.deviceId()) ? USER_OWNED_DEVICE
                        : point.deviceId());
                device.put("ackedAt", point.ackedAt());
                device.put("syncPoint", point.syncPoint());
                acked.add(device);
            }
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("bizType", bizTypeId);
        answer.put("oplogId", oplogId);
        answer.put("acked", acked);
        JsonAnswers.ok(ctx, answer);
    }

    private static String describe(Scope scope) {
        return switch (scope.kind()) {
            case GLOBAL -> "bizType '" + scope.bizType() + "'";
            case USER -> "bizType '" + scope.bizType() + "' for user '" + scope.owner() + "'";
            case DEVICE -> "bizType '" + scope.bizType() + "' for device '" + scope.owner() + "'";
        };
    }

    private ObjectNode pushDetail(SyncEngine.Push push, SyncEngine.PushOutcome outcome, int batchIndex) {
        return pushDetail(recorder, push, outcome, batchIndex);
    }

    /** What the operation record of a push holds (HTTP and gRPC pushes alike). */
    static ObjectNode pushDetail(Recorder recorder, SyncEngine.Push push, SyncEngine.PushOutcome outcome,
                                 int batchIndex) {
        ObjectNode detail = recorder.detail();
        if (push.linkToken() != null) {
            detail.put("linkToken", push.linkToken());
        }
        if (push.thirdMsgId() != null) {
            detail.put("thirdMsgId", push.thirdMsgId());
        }
        detail.put("oplogId", outcome.oplogId());
        detail.put("resultCode", outcome.resultCode());
        if (outcome.delivered() >= 0) {
            detail.put("delivered", outcome.delivered());
        }
        if (batchIndex >= 0) {
            detail.put("batchIndex", batchIndex);
        }
        if (push.validTimeStart() != 0) {
            detail.put("validTimeStart", push.validTimeStart());
        }
        if (push.validTimeEnd() != 0) {
            detail.put("validTimeEnd", push.validTimeEnd());
        }
        if (!push.filter().isNone()) {
            ObjectNode filter = detail.putObject("filter");
            if (!push.filter().osTypes().isEmpty()) {
                ArrayNode os = filter.putArray("osType");
                push.filter().osTypes().stream().sorted().forEach(os::add);
            }
            if (push.filter().appMinVersion() != null) {
                filter.put("appMinVersion", push.filter().appMinVersion());
            }
            if (push.filter().appMaxVersion() != null) {
                filter.put("appMaxVersion", push.filter().appMaxVersion());
            }
            if (!push.filter().uids().isEmpty()) {
                filter.put("uidCount", push.filter().uids().size()); // the list itself is too big to keep
            }
            if (push.filter().uidFrom() != null || push.filter().uidTo() != null) {
                ObjectNode range = filter.putObject("uidRange");
                if (push.filter().uidFrom() != null) {
                    range.put("from", push.filter().uidFrom());
                }
                if (push.filter().uidTo() != null) {
                    range.put("to", push.filter().uidTo());
                }
            }
        }
        return detail;
    }

    private ObjectNode failed(int index, String resultCode, String message) {
        engine.metrics().push(resultCode);
        ObjectNode result = mapper.createObjectNode();
        result.put("index", index);
        result.put("success", false);
        result.put("resultCode", resultCode);
        result.put("message", message);
        return result;
    }

    private static Throwable unwrap(Throwable failure) {
        Throwable cause = failure;
        while ((cause instanceof CompletionException || cause instanceof java.util.concurrent.ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}
