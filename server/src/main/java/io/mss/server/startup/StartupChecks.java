package io.mss.server.startup;

import io.mss.server.store.StoreException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Turns the failures a newcomer meets first — a data dir in use, a port taken — into one line
 * naming the data dir, the other process and the flag to change.
 */
public final class StartupChecks {
    private StartupChecks() {
    }

    /**
     * A store that failed to open because another process holds its {@code LOCK} becomes a
     * {@link StartupException}; any other failure is returned as it was.
     */
    public static RuntimeException storeFailure(StoreException e, Path dataDir, Path storeDir) {
        String message = String.valueOf(e.getMessage());
        if (!message.contains("LOCK") || !message.contains("unavailable")) {
            return e;
        }
        OptionalLong pid = LockHolder.of(storeDir.resolve("LOCK"));
        String who = pid.isPresent() ? "another MSS server (pid " + pid.getAsLong() + ")" : "another MSS server";
        return new StartupException("the data dir " + dataDir + " is in use by " + who
                + "; stop it, or give this one its own --data-dir", e);
    }

    /**
     * Fails before anything is bound when a port is taken, so that the message can name the
     * port and its flag. Port 0 (any free port) is never taken.
     */
    public static void portFree(String bindHost, int port, String flag) {
        if (port == 0) {
            return;
        }
        try (ServerSocket socket = new ServerSocket()) {
            // the same option Netty binds with: a port left in TIME_WAIT counts as free
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(bindHost, port));
        } catch (IOException e) {
            if (String.valueOf(e.getMessage()).contains("in use")) {
                throw portInUse(bindHost, port, flag, e);
            }
            throw new StartupException("cannot listen on " + bindHost + ":" + port + " (" + e.getMessage()
                    + "); check --bind and " + flag, e);
        }
    }

    /** The bind itself failed anyway (another process took the port in between); other failures come back as they were. */
    public static Exception bindFailure(Exception e, String bindHost, int port, String flag) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage());
            if (t instanceof java.net.BindException || message.contains("Address already in use")) {
                return portInUse(bindHost, port, flag, e);
            }
        }
        return e;
    }

    private static StartupException portInUse(String bindHost, int port, String flag, Throwable cause) {
        return new StartupException("port " + port + " on " + bindHost + " is in use by another process ("
                + cause.getMessage() + "); stop it, or choose another port with " + flag, cause);
    }

    /** The configured certificate and key exist and can be read, before anything else is started. */
    public static void tlsFilesReadable(Path cert, Path key) {
        for (var file : java.util.Map.of("tls-cert", cert, "tls-key", key).entrySet()) {
            if (!java.nio.file.Files.isReadable(file.getValue())) {
                throw new StartupException(file.getKey() + " " + file.getValue()
                        + (java.nio.file.Files.exists(file.getValue()) ? " cannot be read by this user" : " does not exist")
                        + "; fix the path in mss.yaml", null);
            }
        }
    }

    /** A certificate or key that does not load: named, with what the TLS library said. */
    public static Exception tlsFailure(Exception e, Path cert, Path key) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof javax.net.ssl.SSLException || t instanceof java.security.GeneralSecurityException
                    || (t instanceof IllegalArgumentException && String.valueOf(t.getMessage()).contains("File does not contain"))) {
                return new StartupException("cannot load the TLS certificate " + cert + " and key " + key + " ("
                        + t.getMessage() + "): tls-cert must be PEM certificates, leaf first, and tls-key its PEM "
                        + "private key (PKCS#8: openssl pkcs8 -topk8 -nocrypt)", e);
            }
        }
        return e;
    }
}
