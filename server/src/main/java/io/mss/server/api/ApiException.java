package io.mss.server.api;

/** A refused request: the HTTP status, a stable resultCode for programs and a message for people. */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String resultCode;

    public ApiException(int status, String resultCode, String message) {
        super(message);
        this.status = status;
        this.resultCode = resultCode;
    }

    public int status() {
        return status;
    }

    public String resultCode() {
        return resultCode;
    }

    static ApiException invalid(String message) {
        return new ApiException(400, "INVALID_REQUEST", message);
    }
}
