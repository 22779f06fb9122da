package io.mss.client;

/**
 * Supplies the JWT for a connect attempt.
 *
 * <p>Called on the connecting thread (never the state thread) before every connect attempt, so
 * it may block, for example to refresh the token over the network. A thrown exception or a
 * {@code null} result counts as a failed connect attempt and is retried with backoff.
 */
public interface TokenProvider {
    /**
     * @param deviceId the device id the client was built with; must be the token's {@code did}
     * @param userIdOrNull the signed-in user (the token's {@code sub}), or {@code null} when
     *     no user is signed in
     */
    String token(String deviceId, String userIdOrNull) throws Exception;
}
