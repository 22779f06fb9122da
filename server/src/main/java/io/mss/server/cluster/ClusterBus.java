package io.mss.server.cluster;

import io.mss.server.store.Scope;

import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * How the nodes of a cluster tell each other that something changed in the shared store:
 * "scope S advanced to id N" after each commit, and "bizType B changed". A message is only a
 * wake-up: the receiver reads the oplogs from the store, above what each session already sent,
 * so a lost, late or repeated message costs at most a delay (the periodic reconciliation
 * catches a lost one), never a gap or a duplicate.
 */
public interface ClusterBus extends AutoCloseable {

    /** Tells the other nodes that these scopes advanced; called after each commit on this node. */
    void advanced(Map<Scope, Long> heads);

    /** Tells the other nodes that a bizType was created, changed or deleted. */
    void configChanged(String bizTypeId);

    /** Called with the scopes other nodes advanced (not with this node's own). */
    void onAdvanced(BiConsumer<Scope, Long> listener);

    /** Called with the bizTypes other nodes changed. */
    void onConfigChanged(Consumer<String> listener);

    /** Whether the bus is connected right now; for the readiness check. */
    boolean healthy();

    /** This node now listens on its ports: announce it with its addresses right away. */
    default void started() {
    }

    /**
     * The nodes that announced themselves recently, this one included.
     *
     * @throws Unavailable when the bus cannot be asked now
     */
    List<NodeInfo> nodes();

    /** The bus cannot answer now (Redis away). */
    final class Unavailable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    @Override
    void close();
}
