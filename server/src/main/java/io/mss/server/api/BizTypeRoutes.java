package io.mss.server.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.ext.web.RoutingContext;
import io.mss.server.biz.BizType;
import io.mss.server.config.ServerConfig;
import io.mss.server.records.OperationRecord;
import io.mss.server.store.BizTypeStore;
import io.mss.server.sync.SyncEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code /api/v1/biz-types}: sync configurations. */
final class BizTypeRoutes {
    private static final Logger events = LoggerFactory.getLogger("mss.events");

    static final Set<String> FIELDS = Set.of("id", "description", "range", "target", "multiDevice", "persistent",
            "retentionDays", "rePushMode", "rePushThreshold", "status", "upstreamWebhook", "receiptWebhook");
    static final int MAX_WEBHOOK_CHARS = 2048;

    private final ServerConfig config;
    private final SyncEngine engine;
    private final BizTypeStore bizTypes;
    private final ObjectMapper mapper;
    private final Recorder recorder;
    /**
     * The store makes each change of an id atomic across nodes; this lock keeps the engine
     * hearing of this node's changes in the order they were made.
     */
    private final Object lock = new Object();

    BizTypeRoutes(ServerConfig config, SyncEngine engine, BizTypeStore bizTypes, ObjectMapper mapper, Recorder recorder) {
        this.config = config;
        this.engine = engine;
        this.bizTypes = bizTypes;
        this.mapper = mapper;
        this.recorder = recorder;
    }

    void list(RoutingContext ctx) {
        JsonAnswers.ok(ctx, Map.of("bizTypes", bizTypes.list()));
    }

    void get(RoutingContext ctx) {
        JsonAnswers.ok(ctx, Map.of("bizType", existing(ctx.pathParam("id"))));
    }

    void create(RoutingContext ctx) {
        BizType bizType = read(JsonBody.parse(mapper, HttpApi.body(ctx, config.maxRequestBytes), FIELDS), null);
        synchronized (lock) {
            // atomic in the store: of two nodes creating one id, one gets 409
            if (!bizTypes.create(bizType)) {
                throw new ApiException(409, "BIZ_TYPE_EXISTS", "bizType '" + bizType.id() + "' already exists");
            }
            engine.configChanged(bizType.id());
        }
        events.info("config created bizType={} by={} {}", bizType.id(), ApiAccess.actor(ctx), bizType);
        ObjectNode detail = recorder.detail();
        detail.set("bizType", mapper.valueToTree(bizType));
        recorder.record(ctx, OperationRecord.Type.BIZ_TYPE_CREATED, bizType.id(), detail);
        ctx.response().setStatusCode(201);
        JsonAnswers.ok(ctx, Map.of("bizType", bizType));
    }

    void update(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        byte[] body = HttpApi.body(ctx, config.maxRequestBytes);
        BizTypeStore.Change change;
        synchronized (lock) {
            // read, change and write with no other node's change of the id in between
            change = bizTypes.update(id, current -> {
                // parsed only for an existing id: an unknown id is a 404 whatever the body
                BizType next = read(JsonBody.parse(mapper, body, FIELDS), current);
                if (next.range() != current.range() || next.target() != current.target()) {
                    throw new ApiException(409, "IMMUTABLE_FIELD", "range and target of an existing bizType cannot"
                            + " change: its oplogs are stored by them; create a new bizType instead");
                }
                return next;
            }).orElseThrow(() -> notFound(id));
            engine.configChanged(id);
        }
        BizType current = change.old();
        BizType updated = change.updated();
        events.info("config updated bizType={} by={} status={} {}", id, ApiAccess.actor(ctx), updated.status(), updated);
        ObjectNode detail = recorder.detail();
        detail.set("old", mapper.valueToTree(current));
        detail.set("new", mapper.valueToTree(updated));
        recorder.record(ctx, OperationRecord.Type.BIZ_TYPE_UPDATED, id, detail);
        JsonAnswers.ok(ctx, Map.of("bizType", updated));
    }

    void delete(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        String forceParam = HttpApi.query(ctx, "force");
        boolean force;
        if (forceParam == null || forceParam.equals("false")) {
            force = false;
        } else if (forceParam.isEmpty() || forceParam.equals("true")) {
            force = true;
        } else {
            throw ApiException.invalid("'force' must be true or false, got '" + forceParam + "'");
        }
        BizTypeStore.Deletion deletion;
        synchronized (lock) {
            // the configuration and its oplogs go in one step: a create of the same id on any
            // node comes before it (and is deleted with it) or after it (and starts empty)
            deletion = bizTypes.deleteWithData(id, force);
            if (deletion.old() == null) {
                throw notFound(id);
            }
            if (!deletion.deleted()) {
                throw new ApiException(409, "BIZ_TYPE_HAS_DATA", "bizType '" + id + "' still has stored oplogs;"
                        + " deleting it deletes them too: repeat with ?force=true to do so");
            }
            engine.configChanged(id);
        }
        BizType current = deletion.old();
        boolean hadData = deletion.hadData();
        events.info("config deleted bizType={} by={} oplogsDeleted={}", id, ApiAccess.actor(ctx), hadData);
        ObjectNode detail = recorder.detail();
        detail.set("old", mapper.valueToTree(current));
        detail.put("force", force);
        detail.put("hadData", hadData);
        recorder.record(ctx, OperationRecord.Type.BIZ_TYPE_DELETED, id, detail);
        JsonAnswers.ok(ctx, Map.of());
    }

    private BizType existing(String id) {
        return bizTypes.get(id).orElseThrow(() -> notFound(id));
    }

    static ApiException notFound(String id) {
        return new ApiException(404, "BIZ_TYPE_NOT_FOUND", "bizType '" + id + "' does not exist");
    }

    /** Reads a configuration; on update, absent fields keep their current values. */
    private BizType read(JsonBody body, BizType current) {
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
        BizType.RePushMode rePushMode = or(body.enumValue("rePushMode", BizType.RePushMode.class),
                current == null ? BizType.RePushMode.ALL : current.rePushMode());
        Integer threshold = body.integer("rePushThreshold");
        if (threshold == null) {
            // kept only while the mode stays THRESHOLD: switching to ALL clears it
            threshold = current != null && rePushMode == BizType.RePushMode.THRESHOLD
                    && current.rePushMode() == BizType.RePushMode.THRESHOLD ? current.rePushThreshold() : 0;
        }
        BizType.Status status = or(body.enumValue("status", BizType.Status.class),
                current == null ? BizType.Status.ONLINE : current.status());
        String upstreamWebhook = webhook(body, "upstreamWebhook", current == null ? null : current.upstreamWebhook());
        String receiptWebhook = webhook(body, "receiptWebhook", current == null ? null : current.receiptWebhook());
        BizType bizType = new BizType(id, description, range, target, multiDevice, persistent, retentionDays,
                rePushMode, threshold, status, upstreamWebhook, receiptWebhook);
        List<String> problems = new ArrayList<>(bizType.problems(config.maxRetentionDays));
        urlProblems(problems, "upstreamWebhook", upstreamWebhook);
        urlProblems(problems, "receiptWebhook", receiptWebhook);
        if (!problems.isEmpty()) {
            throw new ApiException(400, "INVALID_BIZ_TYPE", String.join("; ", problems));
        }
        return bizType;
    }

    /** A webhook field: absent keeps the current URL; null or "" removes it. */
    private static String webhook(JsonBody body, String field, String current) {
        if (!body.has(field)) {
            return current;
        }
        String value = body.string(field);
        return value == null || value.isBlank() ? null : value.trim();
    }

    /** What BizType's own check lets through but an HTTP client would refuse. */
    private static void urlProblems(List<String> problems, String field, String url) {
        if (url == null || !url.matches("https?://\\S+")) {
            return; // absent, or already reported by BizType.problems
        }
        if (url.length() > MAX_WEBHOOK_CHARS) {
            problems.add(field + " must be at most " + MAX_WEBHOOK_CHARS + " characters");
            return;
        }
        try {
            URI uri = new URI(url);
            if (uri.getHost() == null || uri.getHost().isEmpty()) {
                problems.add(field + " must name a host: " + url);
            }
        } catch (URISyntaxException e) {
            problems.add(field + " is not a valid URL: " + e.getMessage());
        }
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }
}
