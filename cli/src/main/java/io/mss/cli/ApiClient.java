package io.mss.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The CLI's side of the HTTP API. Prints the server's JSON answer; the exit code says whether it succeeded. */
final class ApiClient {
    static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final String baseUrl;
    private final String apiKey;

    /** One path segment or query value, percent-encoded. */
    static String encode(String value) {
        return java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }

    private final boolean sign;

    ApiClient(String baseUrl, String apiKey) {
        this(baseUrl, apiKey, false, null);
    }

    /**
     * @param sign add X-MSS-Timestamp and X-MSS-Signature (HMAC-SHA256 with the API key) to every request
     * @param tls  for an https:// base URL (see {@link #trust}); null: the system's trust store
     */
    ApiClient(String baseUrl, String apiKey, boolean sign, javax.net.ssl.SSLContext tls) {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
        if (tls != null) {
            builder.sslContext(tls);
        }
        this.http = builder.build();
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.apiKey = apiKey;
        this.sign = sign;
    }

    /**
     * What an https:// API is trusted by: {@code ca} (the server's generated certificate, say),
     * anything with {@code insecure}, or the system's trust store when both are absent (null).
     */
    static javax.net.ssl.SSLContext trust(java.nio.file.Path ca, boolean insecure) {
        try {
            javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
            if (insecure) {
                // a certificate check that accepts anything; the host name is still the URL's
                context.init(null, new javax.net.ssl.TrustManager[]{new javax.net.ssl.X509TrustManager() {
                    @Override
                    public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String type) {
                    }

                    @Override
                    public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String type) {
                    }

                    @Override
                    public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                        return new java.security.cert.X509Certificate[0];
                    }
                }}, null);
                return context;
            }
            if (ca == null) {
                return null;
            }
            java.security.KeyStore store = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
            store.load(null, null);
            try (java.io.InputStream pem = java.nio.file.Files.newInputStream(ca)) {
                int i = 0;
                for (java.security.cert.Certificate certificate : java.security.cert.CertificateFactory
                        .getInstance("X.509").generateCertificates(pem)) {
                    store.setCertificateEntry("ca-" + i++, certificate);
                }
            }
            javax.net.ssl.TrustManagerFactory factory = javax.net.ssl.TrustManagerFactory.getInstance(
                    javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (java.io.IOException | java.security.GeneralSecurityException e) {
            throw new io.mss.server.config.ServerConfig.ConfigException("cannot use the certificate " + ca + ": "
                    + e.getMessage());
        }
    }

    /** hex(HMAC-SHA256(key, timestamp \n METHOD \n path?query \n body)), as the server checks it. */
    static String signature(String key, String timestamp, String method, String pathAndQuery, byte[] body) {
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(key.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    "HmacSHA256"));
            mac.update((timestamp + "\n" + method + "\n" + pathAndQuery + "\n")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(mac.doFinal(body));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * What to do about a refusal, in the command line's words (flags, not routes), by resultCode;
     * a command adds its own with {@link #call(String, String, Object, java.util.Map)}.
     */
    private static final java.util.Map<String, String> HINTS = java.util.Map.of(
            "UNAUTHORIZED", "the API key was refused: check --data-dir (its api-key file) or MSS_API_KEY",
            "FORBIDDEN", "this key's role may not do that: use an admin key (./mss key create --role admin)",
            "BIZ_TYPE_NOT_FOUND", "no such bizType: ./mss biz list shows them, ./mss biz create ID adds one");

    /** Sends the request, prints the answer, returns 0 on success and 1 otherwise. */
    int call(String method, String path, Object body) throws IOException, InterruptedException {
        return call(method, path, body, java.util.Map.of());
    }

    /** As {@link #call(String, String, Object)}; a refusal whose resultCode is in {@code hints} prints that hint. */
    int call(String method, String path, Object body, java.util.Map<String, String> hints)
            throws IOException, InterruptedException {
        byte[] bytes = body == null ? new byte[0] : JSON.writeValueAsBytes(body);
        HttpRequest.BodyPublisher publisher = body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(bytes);
        URI uri = URI.create(baseUrl + path);
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + apiKey)
                .header("Content-Type", "application/json")
                .method(method, publisher);
        if (sign) {
            String timestamp = Long.toString(System.currentTimeMillis());
            String target = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
            builder.header("X-MSS-Timestamp", timestamp)
                    .header("X-MSS-Signature", signature(apiKey, timestamp, method, target, bytes));
        }
        HttpRequest request = builder.build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            System.err.println("mss: cannot reach the HTTP API at " + baseUrl + " (" + e
                    + "): is the server running? Another address: --api URL or MSS_API_URL");
            return 1;
        }
        try {
            JsonNode answer = JSON.readTree(response.body());
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(answer));
            if (answer.path("success").asBoolean(false)) {
                return 0;
            }
            String resultCode = answer.path("resultCode").asText("");
            String hint = hints.getOrDefault(resultCode, HINTS.get(resultCode));
            if (hint != null) {
                System.err.println("mss: " + hint);
            }
            return 1;
        } catch (IOException e) {
            System.out.println(response.body());
            return response.statusCode() < 300 ? 0 : 1;
        }
    }
}
