package io.mss.client.internal;

import io.mss.client.ConnectFailure;
import io.mss.client.ConnectionListener;
import io.mss.client.MssClient;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The app's {@link ConnectionListener}s, told on the callback executor in order with the
 * messages; a listener that throws is logged and the others still hear. Any thread adds and
 * removes; the events come from the state thread.
 */
final class ConnectionListeners {
    private static final Logger LOG = Logger.getLogger("io.mss.client");
    private static final Logger CONNECT_LOG = Logger.getLogger(MssClient.CONNECT_LOGGER);

    private final StateLoop loop;
    private final CopyOnWriteArrayList<ConnectionListener> listeners = new CopyOnWriteArrayList<>();

    ConnectionListeners(StateLoop loop) {
        this.loop = loop;
    }

    void add(ConnectionListener l) {
        listeners.add(l);
    }

    void remove(ConnectionListener l) {
        listeners.remove(l);
    }

    void connected(String sessionId) {
        tell(l -> l.onConnected(sessionId));
    }

    void unknownBizTypes(List<String> bizTypes) {
        tell(l -> l.onUnknownBizTypes(bizTypes));
    }

    void disconnected(String reason, boolean willRetry) {
        tell(l -> l.onDisconnected(reason, willRetry));
    }

    /** Loud once per streak, so that a server that is down does not flood the app's log. */
    void connectFailed(ConnectFailure failure) {
        if (failure.consecutiveFailures() == 1) {
            CONNECT_LOG.warning(failure.message());
        } else if (CONNECT_LOG.isLoggable(Level.FINE)) {
            CONNECT_LOG.fine(failure.message() + " (" + failure.consecutiveFailures() + " failures in a row)");
        }
        tell(l -> l.onConnectFailed(failure));
    }

    private void tell(Consumer<ConnectionListener> event) {
        for (ConnectionListener l : listeners) {
            loop.dispatch(() -> {
                try {
                    event.accept(l);
                } catch (Throwable t) {
                    LOG.log(Level.WARNING, "connection listener threw", t);
                }
            });
        }
    }
}
