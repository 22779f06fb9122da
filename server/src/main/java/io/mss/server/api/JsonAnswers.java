package io.mss.server.api;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mss.server.store.StoreException;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** The API's JSON answers: {@code success}, {@code resultCode}, then the route's fields or a {@code message}. */
final class JsonAnswers {
    private static final Logger log = LoggerFactory.getLogger(JsonAnswers.class);
    private static final String JSON = "application/json";
    /** Answers are written with the types Jackson knows by default: maps, lists, records, beans. */
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonAnswers() {
    }

    static void ok(RoutingContext ctx, Map<String, ?> fields) {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("success", true);
        answer.put("resultCode", "OK");
        answer.putAll(fields);
        json(ctx, ctx.response().getStatusCode(), answer); // a route may have set 201 before
    }

    static void json(RoutingContext ctx, int status, Object answer) {
        byte[] bytes;
        try {
            bytes = MAPPER.writeValueAsBytes(answer);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an answer that is not JSON: " + e.getMessage(), e);
        }
        json(ctx, status, bytes);
    }

    /** Writes a JSON answer with its exact length; any thread (Vert.x hands the write to the connection's loop). */
    static void json(RoutingContext ctx, int status, byte[] bytes) {
        HttpServerResponse response = ctx.response();
        if (response.ended() || response.closed()) {
            return; // the caller went away, or an answer (408) was already given
        }
        response.setStatusCode(status).putHeader("Content-Type", JSON);
        BodyReader.end(ctx.request(), response, bytes);
    }

    static void storeFailed(RoutingContext ctx, StoreException e) {
        log.error("store failure", e);
        error(ctx, 503, "STORE_UNAVAILABLE", "not stored: " + e.getMessage());
    }

    static void error(RoutingContext ctx, int status, String resultCode, String message) {
        json(ctx, status, errorBytes(MAPPER, resultCode, message));
    }

    /** {@code {"success":false,"resultCode":…,"message":…}} written straight to bytes. */
    static byte[] errorBytes(ObjectMapper mapper, String resultCode, String message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 + message.length());
        try (JsonGenerator json = mapper.getFactory().createGenerator(out)) {
            json.writeStartObject();
            json.writeBooleanField("success", false);
            json.writeStringField("resultCode", resultCode);
            json.writeStringField("message", message);
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
