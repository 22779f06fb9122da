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

    /** The HTTP answer to a push the engine refused: the status is the API's choice, not the engine's. */
    static ApiException of(io.mss.server.sync.SyncEngine.PushRefused refused) {
        int status = switch (refused.reason()) {
            case BIZ_TYPE_NOT_FOUND -> 404;
            case CONFIG_OFFLINE -> 409;
            case RANGE_MISMATCH -> 400;
        };
        return new ApiException(status, refused.resultCode(), refused.getMessage());
    }

    static ApiException invalid(String message) {
        return new ApiException(400, "INVALID_REQUEST", message);
    }
}
