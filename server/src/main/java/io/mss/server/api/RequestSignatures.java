package io.mss.server.api;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Optional HMAC request signing. A signed request carries {@code X-MSS-Timestamp} (epoch ms)
 * and {@code X-MSS-Signature: hex(HMAC-SHA256(key, timestamp + "\n" + METHOD + "\n" +
 * path[?query] + "\n" + body))}, the key being the API key of the request. It proves the
 * request was made by a holder of the key within {@link #WINDOW_MS} and was not altered, and a
 * signature is accepted once: a captured request cannot be replayed.
 */
final class RequestSignatures {
    static final String TIMESTAMP_HEADER = "X-MSS-Timestamp";
    static final String SIGNATURE_HEADER = "X-MSS-Signature";
    static final long WINDOW_MS = 300_000;
    /** Signatures remembered for replay detection; beyond it the oldest are forgotten first. */
    static final int MAX_REMEMBERED = 200_000;

    /** signature → when it stops mattering (its timestamp + window); insertion order ≈ time order. */
    private final LinkedHashMap<String, Long> seen = new LinkedHashMap<>();

    static String sign(String key, String timestamp, String method, String pathAndQuery, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            mac.update((timestamp + "\n" + method + "\n" + pathAndQuery + "\n").getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(mac.doFinal(body));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Throws a 401 {@link ApiException} unless the signature is fresh, right and new. */
    void verify(String key, String timestamp, String signature, String method, String pathAndQuery, byte[] body,
                long now) {
        long at;
        try {
            at = Long.parseLong(timestamp.trim());
        } catch (NumberFormatException e) {
            throw new ApiException(401, "SIGNATURE_EXPIRED", TIMESTAMP_HEADER + " must be epoch milliseconds, got '"
                    + timestamp + "'");
        }
        if (Math.abs(now - at) > WINDOW_MS) {
            throw new ApiException(401, "SIGNATURE_EXPIRED", TIMESTAMP_HEADER + " is more than "
                    + WINDOW_MS / 1000 + " s away from the server's time (" + now + ")");
        }
        String expected = sign(key, timestamp.trim(), method, pathAndQuery, body);
        if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII),
                signature.trim().toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.US_ASCII))) {
            throw new ApiException(401, "BAD_SIGNATURE", SIGNATURE_HEADER
                    + " does not match: expected hex(HMAC-SHA256(key, timestamp \\n METHOD \\n path?query \\n body))");
        }
        synchronized (seen) {
            for (Iterator<Map.Entry<String, Long>> it = seen.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<String, Long> oldest = it.next();
                if (oldest.getValue() >= now && seen.size() < MAX_REMEMBERED) {
                    break;
                }
                it.remove();
            }
            if (seen.putIfAbsent(expected, at + WINDOW_MS) != null) {
                throw new ApiException(401, "REPLAYED", "this signature was already used; sign each request anew");
            }
        }
    }
}
