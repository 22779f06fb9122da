package io.mss.server.auth;

/**
 * The identity a verified client token grants.
 *
 * @param userId   the token's {@code sub}; null for an anonymous device
 * @param deviceId the token's {@code did}
 * @param expiresAt epoch millis
 */
public record ClientToken(String userId, String deviceId, long expiresAt) {
}
