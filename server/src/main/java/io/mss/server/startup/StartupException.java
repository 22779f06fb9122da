package io.mss.server.startup;

/**
 * The server cannot start for a reason the operator can fix; the message is one line that says
 * what happened and what to do. The command line prints it without a stack trace.
 */
public final class StartupException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
