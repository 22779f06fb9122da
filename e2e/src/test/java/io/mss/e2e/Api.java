package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** The push API as a business server calls it: plain HTTP and JSON. */
final class Api {
    static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final String baseUrl;
    private final String apiKey;

    Api(String baseUrl, String apiKey) {
        this.baseUrl = baseUrl;
        this.apiKey = apiKey;
    }

    /** Status code and parsed JSON body. */
    record Answer(int status, JsonNode body) {
        String resultCode() {
            return body.path("resultCode").asText();
        }

        long oplogId() {
            return body.path("oplogId").asLong();
        }
    }

    Answer call(String method, String path, String rawBody) {
        return call(method, path, rawBody, apiKey);
    }

    Answer call(String method, String path, String rawBody, String key) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .method(method, rawBody == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(rawBody));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode body = response.body().isEmpty() ? JSON.nullNode() : JSON.readTree(response.body());
            return new Answer(response.statusCode(), body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@code /metrics} in the Prometheus text format. */
    String metrics() {
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/metrics")).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + apiKey).build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    Answer post(String path, Map<String, ?> body) {
        try {
            return call("POST", path, JSON.writeValueAsString(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Answer createBizType(String id, String range, String target) {
        Answer answer = post("/api/v1/biz-types", Map.of("id", id, "range", range, "target", target));
        if (answer.status() != 201) {
            throw new IllegalStateException("cannot create " + id + ": " + answer);
        }
        return answer;
    }

    Answer push(String bizType, String linkToken, String payload, String thirdMsgId) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("bizType", bizType);
        body.put("linkToken", linkToken);
        body.put("payload", payload);
        if (thirdMsgId != null) {
            body.put("thirdMsgId", thirdMsgId);
        }
        return post("/api/v1/push", body);
    }

    /** Pushes {@code count} copies from 8 concurrent callers; fails on the first refusal. */
    void pushMany(String bizType, String linkToken, String payload, int count) {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            java.util.List<java.util.concurrent.Future<Answer>> answers = new java.util.ArrayList<>();
            for (int i = 0; i < count; i++) {
                answers.add(pool.submit(() -> push(bizType, linkToken, payload, null)));
            }
            for (java.util.concurrent.Future<Answer> answer : answers) {
                Answer a = answer.get();
                if (a.status() != 200) {
                    throw new IllegalStateException("push refused: " + a);
                }
            }
        } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e);
        } finally {
            pool.shutdownNow();
        }
    }

    Answer pushGlobal(String bizType, String payload) {
        return post("/api/v1/push/global", Map.of("bizType", bizType, "payload", payload));
    }
}
