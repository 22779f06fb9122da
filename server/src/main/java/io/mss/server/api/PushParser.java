package io.mss.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mss.server.biz.BizType;
import io.mss.server.config.ServerConfig;
import io.mss.server.store.DeliveryFilter;
import io.mss.server.sync.SyncEngine;

import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Reads one push, from {@code POST /api/v1/push}, {@code /push/global} or one order of
 * {@code /push/batch}, and checks everything that can be checked before the engine sees it.
 */
final class PushParser {
    static final int MAX_UIDS = 10_000;
    static final int MAX_OS_TYPES = 16;
    static final int MAX_LINK_TOKEN_CHARS = 128;
    static final int MAX_UID_CHARS = 128;
    static final int MAX_OS_TYPE_CHARS = 32;
    private static final long DAY_MS = 24L * 3600 * 1000;

    static final Set<String> GLOBAL_FIELDS = Set.of("bizType", "payload", "thirdMsgId", "validTimeStart",
            "validTimeEnd", "osType", "appMinVersion", "appMaxVersion", "uidList", "uidRange");
    /** uidList and uidRange are read so that they get a clear INVALID_FILTER on an APPOINTED push. */
    static final Set<String> FIELDS = union(GLOBAL_FIELDS, Set.of("linkToken"));

    private final ServerConfig config;
    private final Function<String, Optional<BizType>> bizTypes;

    PushParser(ServerConfig config, Function<String, Optional<BizType>> bizTypes) {
        this.config = config;
        this.bizTypes = bizTypes;
    }

    /**
     * @param global true for a push to everyone (no linkToken)
     * @param now    epoch millis, to refuse a validity window that already closed
     */
    SyncEngine.Push read(JsonBody body, boolean global, long now) {
        String bizType = noNul("bizType", body.requiredString("bizType"));
        String linkToken = noNul("linkToken", global ? null : body.requiredString("linkToken"));
        String payload = noNul("payload", body.string("payload"));
        if (payload == null) {
            throw new ApiException(400, "MISSING_FIELD", "'payload' is required");
        }
        // the limit counts characters as a person does: code points, so an emoji is one
        if (payload.length() > config.maxPayloadChars
                && payload.codePointCount(0, payload.length()) > config.maxPayloadChars) {
            throw new ApiException(400, "PAYLOAD_TOO_LARGE", "payload has " + payload.codePointCount(0, payload.length())
                    + " characters (Unicode code points); at most " + config.maxPayloadChars + " are allowed");
        }
        String thirdMsgId = noNul("thirdMsgId", body.string("thirdMsgId"));
        if (thirdMsgId != null && (thirdMsgId.isEmpty()
                || thirdMsgId.getBytes(StandardCharsets.UTF_8).length > config.maxThirdMsgIdBytes)) {
            throw new ApiException(400, "INVALID_THIRD_MSG_ID", "thirdMsgId must be 1 to "
                    + config.maxThirdMsgIdBytes + " bytes of UTF-8");
        }
        if (linkToken != null && linkToken.length() > MAX_LINK_TOKEN_CHARS) {
            throw ApiException.invalid("linkToken must be at most " + MAX_LINK_TOKEN_CHARS + " characters");
        }
        Optional<BizType> known = bizTypes.apply(bizType); // unknown: the engine refuses it with 404
        long validTimeStart = validity(body, "validTimeStart");
        long validTimeEnd = validity(body, "validTimeEnd");
        if (validTimeEnd != 0 && validTimeEnd <= now) {
            throw validityProblem("validTimeEnd " + validTimeEnd + " is in the past (now is " + now + ")");
        }
        if (validTimeEnd != 0 && validTimeStart != 0 && validTimeEnd <= validTimeStart) {
            throw validityProblem("validTimeEnd must be after validTimeStart");
        }
        if (validTimeStart != 0 && known.isPresent()
                && validTimeStart > now + known.get().retentionDays() * DAY_MS) {
            throw validityProblem("validTimeStart is after the retention of bizType '" + bizType + "' ("
                    + known.get().retentionDays() + " days): the oplog would expire before it becomes valid");
        }
        DeliveryFilter filter = filter(body, global, known);
        return new SyncEngine.Push(bizType, linkToken, payload, thirdMsgId, validTimeStart, validTimeEnd, filter);
    }

    /**
     * Text that reaches the store must not hold U+0000: PostgreSQL's text refuses it, and one
     * such push would fail the whole group commit it shares with unrelated pushes. Refused
     * with either store, so that both answer the same.
     */
    private static String noNul(String field, String value) {
        if (value != null && value.indexOf('\u0000') >= 0) {
            throw ApiException.invalid("'" + field + "' must not contain the character U+0000 (NUL)");
        }
        return value;
    }

    private static long validity(JsonBody body, String field) {
        JsonNode value = body.node(field);
        if (value == null) {
            return 0;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong() || value.longValue() < 0) {
            throw validityProblem("'" + field + "' must be epoch milliseconds: a non-negative integer");
        }
        return value.longValue();
    }

    private static DeliveryFilter filter(JsonBody body, boolean global, Optional<BizType> bizType) {
        Set<String> osTypes = osTypes(body.node("osType"));
        String min = version(body, "appMinVersion");
        String max = version(body, "appMaxVersion");
        if (min != null && max != null && DeliveryFilter.compareVersions(min, max) > 0) {
            throw filterProblem("appMinVersion " + min + " is above appMaxVersion " + max);
        }
        JsonNode uidList = body.node("uidList");
        JsonNode uidRange = body.node("uidRange");
        if (!global && (uidList != null || uidRange != null)) {
            throw filterProblem("uidList and uidRange apply to global pushes only (POST /api/v1/push/global, or a"
                    + " batch order without linkToken)");
        }
        if ((uidList != null || uidRange != null) && bizType.isPresent()
                && bizType.get().target() != BizType.Target.USER) {
            throw filterProblem("uidList and uidRange need a bizType with target USER; '" + bizType.get().id()
                    + "' has target " + bizType.get().target());
        }
        Set<String> uids = uids(uidList);
        Long uidFrom = null;
        Long uidTo = null;
        if (uidRange != null) {
            if (!(uidRange instanceof ObjectNode range)) {
                throw filterProblem("'uidRange' must be an object {\"from\":N,\"to\":M}");
            }
            for (Iterator<String> names = range.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!name.equals("from") && !name.equals("to")) {
                    throw filterProblem("'uidRange' takes only 'from' and 'to', not '" + name + "'");
                }
            }
            uidFrom = bound(range, "from");
            uidTo = bound(range, "to");
            if (uidFrom == null && uidTo == null) {
                throw filterProblem("'uidRange' needs 'from', 'to' or both");
            }
            if (uidFrom != null && uidTo != null && uidFrom > uidTo) {
                throw filterProblem("uidRange 'from' " + uidFrom + " is above 'to' " + uidTo);
            }
        }
        return new DeliveryFilter(osTypes, min, max, uids, uidFrom, uidTo);
    }

    private static Set<String> osTypes(JsonNode value) {
        if (value == null) {
            return Set.of();
        }
        Set<String> osTypes = new LinkedHashSet<>();
        if (value.isTextual()) {
            osTypes.add(noNul("osType", osType(value)));
        } else if (value.isArray()) {
            if (value.isEmpty() || value.size() > MAX_OS_TYPES) {
                throw filterProblem("'osType' must list 1 to " + MAX_OS_TYPES + " OS types");
            }
            for (JsonNode element : value) {
                osTypes.add(noNul("osType", osType(element)));
            }
        } else {
            throw filterProblem("'osType' must be a string or an array of strings");
        }
        return osTypes;
    }

    private static String osType(JsonNode value) {
        if (!value.isTextual() || value.textValue().isBlank() || value.textValue().length() > MAX_OS_TYPE_CHARS) {
            throw filterProblem("each osType must be a non-empty string of at most " + MAX_OS_TYPE_CHARS + " characters");
        }
        return value.textValue().trim();
    }

    private static String version(JsonBody body, String field) {
        JsonNode value = body.node(field);
        if (value == null) {
            return null;
        }
        if (!value.isTextual() || !DeliveryFilter.validVersion(value.textValue())) {
            throw filterProblem("'" + field + "' must be a dotted version such as \"3.10.2\" (1 to 6 numbers)");
        }
        return value.textValue();
    }

    private static Set<String> uids(JsonNode value) {
        if (value == null) {
            return Set.of();
        }
        if (!value.isArray() || value.isEmpty()) {
            throw filterProblem("'uidList' must be a non-empty array of userIds");
        }
        if (value.size() > MAX_UIDS) {
            throw filterProblem("'uidList' has " + value.size() + " userIds; at most " + MAX_UIDS + " are allowed");
        }
        Set<String> uids = new LinkedHashSet<>();
        for (JsonNode element : value) {
            if (!element.isTextual() || element.textValue().isEmpty() || element.textValue().length() > MAX_UID_CHARS) {
                throw filterProblem("each uidList entry must be a userId string of 1 to " + MAX_UID_CHARS + " characters");
            }
            uids.add(noNul("uidList", element.textValue()));
        }
        return uids;
    }

    private static Long bound(ObjectNode range, String field) {
        JsonNode value = range.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw filterProblem("uidRange '" + field + "' must be an integer");
        }
        return value.longValue();
    }

    private static ApiException validityProblem(String message) {
        return new ApiException(400, "INVALID_VALIDITY", message);
    }

    private static ApiException filterProblem(String message) {
        return new ApiException(400, "INVALID_FILTER", message);
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new LinkedHashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }
}
