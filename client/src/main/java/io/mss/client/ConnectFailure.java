package io.mss.client;

import java.util.Locale;
import java.util.Objects;

/**
 * One connect attempt that did not reach the server's {@code Welcome}, as reported to
 * {@link ConnectionListener#onConnectFailed}. Immutable.
 */
public final class ConnectFailure {
    /** What went wrong, coarse enough for an app or a CLI to decide what to tell its user. */
    public enum Reason {
        /** Nothing listens on the host and port (TCP connection refused). */
        REFUSED,
        /** The TCP connect, the TLS handshake or the wait for {@code Welcome} took too long. */
        TIMEOUT,
        /** The host name does not resolve. */
        UNKNOWN_HOST,
        /** The server's certificate is not trusted or not valid for the host: check the trust settings. */
        TLS_TRUST,
        /** The TLS handshake failed otherwise, for example because the port does not speak TLS. */
        TLS_HANDSHAKE,
        /** The {@link TokenProvider} threw or returned null. */
        TOKEN_PROVIDER,
        /** The server refused the Hello with an {@code Error} frame: see {@link #serverErrorCode()}. */
        SERVER_ERROR,
        /** The server closed the connection before its {@code Welcome}. */
        CLOSED,
        /** Any other network failure (no route, connection reset, ...). */
        OTHER
    }

    private final Reason reason;
    private final String detail;
    private final String host;
    private final int port;
    private final String serverErrorCode;
    private final boolean willRetry;
    private final long retryInMillis;
    private final int consecutiveFailures;
    private final Throwable cause;

    public ConnectFailure(Reason reason, String detail, String host, int port, String serverErrorCode,
                          boolean willRetry, long retryInMillis, int consecutiveFailures, Throwable cause) {
        this.reason = Objects.requireNonNull(reason, "reason");
        this.detail = detail == null ? "" : detail;
        this.host = host;
        this.port = port;
        this.serverErrorCode = serverErrorCode;
        this.willRetry = willRetry;
        this.retryInMillis = willRetry ? retryInMillis : -1;
        this.consecutiveFailures = consecutiveFailures;
        this.cause = cause;
    }

    public Reason reason() {
        return reason;
    }

    /** What happened, in a few words: "connection refused", "token provider returned null". */
    public String detail() {
        return detail;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    /** For {@link Reason#SERVER_ERROR}: the protocol's error code, e.g. {@code TOKEN_EXPIRED}; else null. */
    public String serverErrorCode() {
        return serverErrorCode;
    }

    /** Whether the client tries again on its own (after {@link #retryInMillis()}). */
    public boolean willRetry() {
        return willRetry;
    }

    /** The delay before the next attempt, or -1 when there is none. */
    public long retryInMillis() {
        return retryInMillis;
    }

    /** How many attempts in a row have failed, this one included (1 for the first of a streak). */
    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    /** The exception behind it, when there was one; null otherwise. */
    public Throwable cause() {
        return cause;
    }

    /**
     * One line for a person: {@code cannot connect to localhost:7444: connection refused;
     * retrying in 1.2 s}.
     */
    public String message() {
        return "cannot connect to " + host + ':' + port + ": " + detail
                + (willRetry ? "; retrying in " + seconds(retryInMillis) : "; not retrying");
    }

    private static String seconds(long millis) {
        return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }

    @Override
    public String toString() {
        return "ConnectFailure{" + reason + ": " + message() + '}';
    }
}
