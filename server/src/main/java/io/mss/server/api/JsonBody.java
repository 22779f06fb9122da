package io.mss.server.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
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

    /**
     * Parses the raw bytes: Jackson's UTF-8 parser reports a bad byte where it is (decoding to a
     * String first would turn it into U+FFFD and store that). Duplicate keys are refused by the
     * mapper; a string holding half a surrogate pair is refused here. Either way the request
     * is refused, never altered.
     */
    static JsonBody parse(ObjectMapper mapper, byte[] body, Set<String> allowed) {
        if (body == null || blank(body)) {
            throw new ApiException(400, "INVALID_JSON", "request body must be a JSON object");
        }
        JsonNode tree;
        try {
            tree = mapper.readTree(body);
        } catch (JsonProcessingException e) {
            String where = field(e);
            String problem = e.getOriginalMessage();
            if (problem != null && problem.startsWith("Invalid UTF-8")) {
                throw new ApiException(400, "INVALID_ENCODING", (where == null ? "the body" : "'" + where + "'")
                        + " is not valid UTF-8: " + problem);
            }
            throw new ApiException(400, "INVALID_JSON", "malformed JSON: " + problem);
        } catch (java.io.IOException e) {
            throw new ApiException(400, "INVALID_JSON", "malformed JSON: " + e.getMessage());
        }
        if (!(tree instanceof ObjectNode object)) {
            throw new ApiException(400, "INVALID_JSON", "request body must be a JSON object");
        }
        strictUtf8(body);
        wellFormed(object, "");
        return of(object, allowed);
    }

    /** The JSON pointer of the value the parser was reading when it failed ({@code /orders/3/payload}), or null. */
    private static String field(JsonProcessingException e) {
        if (!(e.getProcessor() instanceof JsonParser parser)) {
            return null;
        }
        JsonStreamContext context = parser.getParsingContext();
        if (context == null || context.inRoot()) {
            return null;
        }
        String pointer = context.pathAsPointer().toString();
        return pointer.isEmpty() ? null : pointer.substring(1).replace('/', '.');
    }

    /**
     * What Jackson lets through that strict UTF-8 forbids: overlong forms and surrogates
     * encoded as bytes (CESU-8). Only bodies with a non-ASCII byte are decoded again.
     */
    private static void strictUtf8(byte[] body) {
        boolean ascii = true;
        for (byte b : body) {
            if (b < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return;
        }
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body));
        } catch (CharacterCodingException e) {
            throw new ApiException(400, "INVALID_ENCODING", "the body is not valid UTF-8 (" + e.getMessage() + ")");
        }
    }

    /** Every string and field name holds whole characters: a lone surrogate escape ("\ud83d") is refused. */
    private static void wellFormed(JsonNode node, String path) {
        if (node.isTextual()) {
            if (loneSurrogate(node.textValue())) {
                throw new ApiException(400, "INVALID_ENCODING", "'" + path + "' holds half of a UTF-16 surrogate"
                        + " pair (an escape such as \\ud83d without its other half): not a character");
            }
        } else if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext(); ) {
                Map.Entry<String, JsonNode> field = fields.next();
                String at = path.isEmpty() ? field.getKey() : path + "." + field.getKey();
                if (loneSurrogate(field.getKey())) {
                    throw new ApiException(400, "INVALID_ENCODING", "a field name in '" + (path.isEmpty() ? "the body" : path)
                            + "' holds half of a UTF-16 surrogate pair");
                }
                wellFormed(field.getValue(), at);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                wellFormed(node.get(i), path + "." + i);
            }
        }
    }

    private static boolean loneSurrogate(String text) {
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                    continue;
                }
                return true;
            }
            if (Character.isLowSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    private static boolean blank(byte[] body) {
        for (byte b : body) {
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return false;
            }
        }
        return true;
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
