package io.mss.server.api;

import io.vertx.ext.web.RoutingContext;
import io.mss.server.biz.BizType;
import io.mss.server.store.BizTypeStore;
import io.mss.server.store.Scope;
import io.mss.server.store.SyncPointStore;
import io.mss.server.sync.Session;
import io.mss.server.sync.SyncEngine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code GET /api/v1/devices/{deviceId}} and {@code GET /api/v1/users/{userId}}: whether a
 * device is connected and from where, its sync point and backlog per bizType, its last acks.
 * Sync points come from the store, live positions from each session's event loop.
 */
final class LookupRoutes {
    private static final int MAX_ID_CHARS = 128;

    private final SyncEngine engine;
    private final BizTypeStore bizTypes;
    private final RecentAcks recentAcks;

    LookupRoutes(SyncEngine engine, BizTypeStore bizTypes, RecentAcks recentAcks) {
        this.engine = engine;
        this.bizTypes = bizTypes;
        this.recentAcks = recentAcks;
    }

    /** {@code ?userId=} names the user of a device that is not connected, for its USER bizTypes. */
    void device(RoutingContext ctx) {
        String deviceId = id(ctx.pathParam("deviceId"), "deviceId");
        List<Session> sessions = engine.sessions().stream().filter(s -> s.deviceId().equals(deviceId)).toList();
        String userId = HttpApi.query(ctx, "userId");
        if ((userId == null || userId.isEmpty()) && !sessions.isEmpty()) {
            userId = sessions.get(0).userId();
        }
        if (userId != null && userId.isEmpty()) {
            userId = null;
        }
        Map<String, Session.ScopeState> live = liveStates(sessions);
        List<Map<String, Object>> points = new ArrayList<>();
        for (BizType bizType : bizTypes.list()) {
            Scope scope = bizType.scopeForDevice(userId, deviceId);
            if (scope == null) {
                continue;
            }
            String owner = bizType.singleDevice() ? SyncPointStore.USER_OWNED : deviceId;
            SyncPointStore.Position position = engine.syncPosition(owner, scope);
            long syncPoint = position.id();
            io.mss.server.store.ScopeHead head = engine.head(scope);
            long last = head.lastId();
            Session.ScopeState state = live.get(bizType.id());
            if (syncPoint == 0 && last == 0 && state == null) {
                continue; // nothing stored for this device and it does not read the bizType now
            }
            Map<String, Object> point = new LinkedHashMap<>();
            point.put("bizType", bizType.id());
            point.put("scope", scope.kind().name());
            point.put("owner", scope.owner());
            point.put("status", bizType.status().name());
            point.put("syncPoint", syncPoint);
            point.put("syncPointEpoch", position.epoch());
            point.put("lastOplogId", last);
            point.put("epoch", head.epoch());
            // a sync point of another timeline covers nothing of this one
            boolean sameTimeline = position.epoch() == 0 || position.epoch() == head.epoch();
            point.put("backlog", Math.max(0, last - (sameTimeline ? syncPoint : 0)));
            point.put("subscribed", state != null);
            if (state != null) {
                point.put("sentUpTo", state.sentUpTo());
            }
            points.add(point);
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("deviceId", deviceId);
        answer.put("userId", userId);
        var lastAcks = recentAcks.of(deviceId);
        answer.put("connected", !sessions.isEmpty());
        // seen: connected now, or something of it is stored; a bizType's data alone (syncPoint 0) is not the device
        answer.put("seen", !sessions.isEmpty() || !lastAcks.isEmpty()
                || points.stream().anyMatch(p -> ((Number) p.get("syncPoint")).longValue() > 0));
        answer.put("sessions", sessions.stream().map(LookupRoutes::describe).toList());
        answer.put("syncPoints", points);
        answer.put("lastAcks", lastAcks);
        JsonAnswers.ok(ctx, answer);
    }

    void user(RoutingContext ctx) {
        String userId = id(ctx.pathParam("userId"), "userId");
        List<Session> sessions = engine.sessions().stream().filter(s -> userId.equals(s.userId())).toList();
        List<Map<String, Object>> scopes = new ArrayList<>();
        for (BizType bizType : bizTypes.list()) {
            if (bizType.range() != BizType.Range.APPOINTED || bizType.target() != BizType.Target.USER) {
                continue;
            }
            Scope scope = Scope.user(bizType.id(), userId);
            long last = engine.lastId(scope);
            List<SyncPointStore.DeviceSyncPoint> devices = engine.deliveryStatus(scope);
            if (last == 0 && devices.isEmpty()) {
                continue;
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("bizType", bizType.id());
            entry.put("status", bizType.status().name());
            entry.put("multiDevice", !bizType.singleDevice());
            entry.put("lastOplogId", last);
            entry.put("devices", devices.stream().map(d -> {
                Map<String, Object> device = new LinkedHashMap<>();
                device.put("deviceId", d.deviceId().isEmpty() ? "(the user's one sync point)" : d.deviceId());
                device.put("syncPoint", d.syncPoint());
                device.put("ackedAt", d.ackedAt());
                device.put("backlog", Math.max(0, last - d.syncPoint()));
                return device;
            }).toList());
            scopes.add(entry);
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("userId", userId);
        answer.put("connected", !sessions.isEmpty());
        // seen: connected now, or one of the user's devices has a sync point stored
        answer.put("seen", !sessions.isEmpty() || scopes.stream().anyMatch(e -> !((List<?>) e.get("devices")).isEmpty()));
        answer.put("sessions", sessions.stream().map(LookupRoutes::describe).toList());
        answer.put("bizTypes", scopes);
        JsonAnswers.ok(ctx, answer);
    }

    private static Map<String, Object> describe(Session session) {
        Map<String, Object> described = new LinkedHashMap<>();
        described.put("sessionId", session.sessionId());
        described.put("deviceId", session.deviceId());
        described.put("userId", session.userId());
        described.put("remoteAddress", String.valueOf(session.channel().remoteAddress()));
        described.put("connectedAt", session.connectedAt());
        described.put("osType", session.osType());
        described.put("appVersion", session.appVersion());
        described.put("backlog", session.backlog());
        described.put("pendingOutboundBytes", session.pendingOutboundBytes());
        return described;
    }

    /** Each session's cursors by bizType, asked on its event loop; a busy loop is not waited for long. */
    private static Map<String, Session.ScopeState> liveStates(List<Session> sessions) {
        Map<String, Session.ScopeState> states = new HashMap<>();
        for (Session session : sessions) {
            try {
                for (Session.ScopeState state : session.scopeStates().get(2, TimeUnit.SECONDS)) {
                    states.put(state.bizType(), state);
                }
            } catch (TimeoutException | ExecutionException e) {
                // the lookup still answers from the store
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return states;
    }

    private static String id(String value, String name) {
        if (value.isBlank() || value.length() > MAX_ID_CHARS) {
            throw ApiException.invalid("'" + name + "' must be 1 to " + MAX_ID_CHARS + " characters");
        }
        return value;
    }
}
