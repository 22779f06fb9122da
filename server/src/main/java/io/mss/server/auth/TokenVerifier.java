package io.mss.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.util.Date;

/**
 * Client tokens: JWT signed with HS256, claims {@code did} (deviceId, required), {@code sub}
 * (userId, optional) and {@code exp} (required). Minted by the business server, which shares
 * the secret; {@link #mint} exists for tests and {@code ./mss token}.
 */
public final class TokenVerifier {
    /** HS256 wants a key of at least 256 bits. */
    public static final int MIN_SECRET_BYTES = 32;

    private final byte[] secret;
    private final Clock clock;

    public TokenVerifier(String secret, Clock clock) {
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
        if (this.secret.length < MIN_SECRET_BYTES) {
            throw new IllegalArgumentException("the token secret must be at least " + MIN_SECRET_BYTES + " bytes");
        }
        this.clock = clock;
    }

    public ClientToken verify(String token) throws InvalidTokenException {
        if (token == null || token.isEmpty()) {
            throw new InvalidTokenException("no token", false);
        }
        try {
            SignedJWT jwt = SignedJWT.parse(token);
            if (!JWSAlgorithm.HS256.equals(jwt.getHeader().getAlgorithm())) {
                throw new InvalidTokenException("token must be signed with HS256", false);
            }
            if (!jwt.verify(new MACVerifier(secret))) {
                throw new InvalidTokenException("bad token signature", false);
            }
            JWTClaimsSet claims = jwt.getJWTClaimsSet();
            Object did = claims.getClaim("did");
            if (!(did instanceof String deviceId) || deviceId.isEmpty()) {
                throw new InvalidTokenException("token has no 'did' claim", false);
            }
            Date exp = claims.getExpirationTime();
            if (exp == null) {
                throw new InvalidTokenException("token has no 'exp' claim", false);
            }
            if (exp.getTime() <= clock.millis()) {
                throw new InvalidTokenException("token expired", true);
            }
            String sub = claims.getSubject();
            return new ClientToken(sub == null || sub.isEmpty() ? null : sub, deviceId, exp.getTime());
        } catch (ParseException e) {
            throw new InvalidTokenException("malformed token", false);
        } catch (JOSEException e) {
            throw new InvalidTokenException("token cannot be verified: " + e.getMessage(), false);
        }
    }

    /** Signs a token for {@code deviceId} and optionally {@code userId}, valid for {@code ttlSeconds}. */
    public String mint(String deviceId, String userId, long ttlSeconds) {
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
                .claim("did", deviceId)
                .issueTime(new Date(clock.millis()))
                .expirationTime(new Date(clock.millis() + ttlSeconds * 1000));
        if (userId != null && !userId.isEmpty()) {
            claims.subject(userId);
        }
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims.build());
        try {
            jwt.sign(new MACSigner(secret));
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign a token", e);
        }
        return jwt.serialize();
    }

    /** Why a token was refused. {@code expired} tokens may succeed with a fresh token. */
    public static final class InvalidTokenException extends Exception {
        private static final long serialVersionUID = 1L;
        private final boolean expired;

        public InvalidTokenException(String message, boolean expired) {
            super(message);
            this.expired = expired;
        }

        public boolean expired() {
            return expired;
        }
    }
}
