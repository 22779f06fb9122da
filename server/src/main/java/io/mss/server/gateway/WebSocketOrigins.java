package io.mss.server.gateway;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which browser pages may open the WebSocket ({@code ws-allowed-origins}). A browser always
 * sends {@code Origin}; without this check any web page a user visits could open a session
 * with a token it got hold of, or probe the server from the user's network. Allowed: the
 * configured origins ({@code *} for any), the console's own origin (the host the request
 * names, on the HTTP port, so the device simulator works under whatever name the console is
 * reached by), and requests without {@code Origin}: those are not from a browser, and a
 * non-browser client could send any origin it likes anyway. Immutable, shared by all event loops.
 */
final class WebSocketOrigins {
    private final boolean any;
    private final Set<String> allowed;
    /** The HTTP port, once known: with http-port 0 it is chosen after the gateway binds. */
    private volatile int consolePort;

    WebSocketOrigins(List<String> configured, int consolePort) {
        this.any = configured.contains("*");
        this.allowed = configured.stream().map(WebSocketOrigins::normalize).collect(Collectors.toUnmodifiableSet());
        this.consolePort = consolePort;
    }

    void consolePort(int port) {
        this.consolePort = port;
    }

    /**
     * @param origin the request's {@code Origin} header, or null
     * @param host   the request's {@code Host} header (host and port of the WebSocket port), or null
     */
    boolean allows(String origin, String host) {
        if (origin == null || any) {
            return true;
        }
        String normalized = normalize(origin);
        if (allowed.contains(normalized)) {
            return true;
        }
        return consolePort > 0 && host != null && isConsole(normalized, hostName(host));
    }

    private boolean isConsole(String origin, String requestHost) {
        try {
            URI uri = URI.create(origin);
            int port = uri.getPort() != -1 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
            return uri.getHost() != null && port == consolePort
                    && uri.getHost().equalsIgnoreCase(requestHost);
        } catch (IllegalArgumentException e) {
            return false; // "null" (sandboxed frames, file://) and other non-URLs are no console
        }
    }

    /** {@code example.com:7444} → {@code example.com}; {@code [::1]:7444} → {@code [::1]}. */
    private static String hostName(String host) {
        int colon = host.lastIndexOf(':');
        return colon > host.lastIndexOf(']') ? host.substring(0, colon) : host;
    }

    /** Browsers send scheme and host in lower case; a configured one may have a trailing slash. */
    private static String normalize(String origin) {
        String lower = origin.trim().toLowerCase(Locale.ROOT);
        return lower.endsWith("/") ? lower.substring(0, lower.length() - 1) : lower;
    }
}
