package io.mss.e2e;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;

/** Raw HTTP calls with chosen headers: signatures, and the answer's headers. */
final class SignedApi {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    record Reply(int status, Api.Answer answer, HttpResponse<String> raw) {
        String resultCode() {
            return answer.resultCode();
        }
    }

    static String signature(String key, String timestamp, String method, String pathAndQuery, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal((timestamp + "\n" + method + "\n" + pathAndQuery + "\n" + body)
                    .getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Signs with {@code key} at {@code timestamp}, sends with the given body. */
    static Map<String, String> signed(String key, long timestamp, String method, String pathAndQuery, String body) {
        String ts = Long.toString(timestamp);
        return Map.of("X-MSS-Timestamp", ts, "X-MSS-Signature", signature(key, ts, method, pathAndQuery,
                body == null ? "" : body));
    }

    static Reply call(String baseUrl, String key, String method, String pathAndQuery, String body,
                      Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + pathAndQuery))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        headers.forEach(request::header);
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        Api.Answer answer = new Api.Answer(response.statusCode(), response.body().isEmpty() ? Api.JSON.nullNode()
                : Api.JSON.readTree(response.body()));
        return new Reply(response.statusCode(), answer, response);
    }

    private SignedApi() {
    }
}
