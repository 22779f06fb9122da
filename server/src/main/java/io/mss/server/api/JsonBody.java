package io.mss.server.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Iterator;
import java.util.Set;

/**
 * A request body read strictly: a JSON object with known fields of the right types, so that a
 * typo or a number where a string belongs is a clear 400 and never a silent default.
 */
final class JsonBody {
    private final ObjectNode node;

    private JsonBody(ObjectNode node) {
        this.node = node;
    }

    static JsonBody parse(ObjectMapper mapper, String body, Set<String> allowed) {
        if (body == null || body.isBlank()) {
            throw new ApiException(400, "INVALID_JSON", "request body must be a JSON object");
        }
        JsonNode tree;
        try {
            tree = mapper.readTree(body);
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "INVALID_JSON", "malformed JSON: " + e.getOriginalMessage());
        }
        if (!(tree instanceof ObjectNode object)) {
            throw new ApiException(400, "INVALID_JSON", "request body must be a JSON object");
        }
        return of(object, allowed);
    }

    /** An object inside a body (e.g. one order of a batch), read with the same strictness. */
    static JsonBody of(ObjectNode object, Set<String> allowed) {
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw ApiException.invalid("unknown field '" + name + "'; allowed: "
                        + String.join(", ", new java.util.TreeSet<>(allowed)));
            }
        }
        return new JsonBody(object);
    }

    /** Whether the field is present, even as JSON null. */
    boolean has(String field) {
        return node.has(field);
    }

    /** The raw value, or null when absent or JSON null. */
    JsonNode node(String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value;
    }

    /** A whole number that fits a long, or null when absent or JSON null. */
    Long longValue(String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw ApiException.invalid("'" + field + "' must be an integer");
        }
        return value.longValue();
    }

    /** A string field, or null when absent or JSON null. */
    String string(String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw ApiException.invalid("'" + field + "' must be a string");
        }
        return value.textValue();
    }

    String requiredString(String field) {
        String value = string(field);
        if (value == null || value.isEmpty()) {
            throw new ApiException(400, "MISSING_FIELD", "'" + field + "' is required");
        }
        return value;
    }

    Boolean bool(String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isBoolean()) {
            throw ApiException.invalid("'" + field + "' must be true or false");
        }
        return value.booleanValue();
    }

    Integer integer(String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            throw ApiException.invalid("'" + field + "' must be an integer");
        }
        return value.intValue();
    }

    <E extends Enum<E>> E enumValue(String field, Class<E> type) {
        String value = string(field);
        if (value == null) {
            return null;
        }
        try {
            return Enum.valueOf(type, value);
        } catch (IllegalArgumentException e) {
            StringBuilder allowed = new StringBuilder();
            for (E constant : type.getEnumConstants()) {
                allowed.append(allowed.length() == 0 ? "" : " | ").append(constant.name());
            }
            throw ApiException.invalid("'" + field + "' must be one of " + allowed + ", got '" + value + "'");
        }
    }
}
