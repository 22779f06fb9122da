package io.mss.client.internal;

import io.mss.client.FullUpdate;
import io.mss.client.MessageCallback;
import io.mss.client.Scope;
import io.mss.client.SyncMessage;
import io.mss.client.internal.proto.Command;
import io.mss.client.internal.proto.CommandType;
import io.mss.protocol.ProtocolVersion;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * FULL_UPDATE, told to the bizType's callback in order with its messages (or kept until a
 * callback is registered), and timeline restarts: a scope whose position is on a timeline the
 * server no longer serves starts over on the new one. State thread only.
 */
final class FullUpdates {
    private static final Logger LOG = Logger.getLogger("io.mss.client");

    private final StateLoop loop;
    private final Inbox inbox;
    private final SyncPointStore store;
    private final Map<String, MessageCallback> callbacks;
    private final BooleanSupplier closing;
    private final ConnectionManager connections;
    private final AckFlusher acks;
    private final DeliveryPump pump;
    /** Messages left the inbox: frames may be taken again. */
    private final Runnable resume;
    /** The last FULL_UPDATE of each bizType without a callback, delivered on registration. */
    private final Map<String, FullUpdate> pendingFullUpdates = new LinkedHashMap<>();

    FullUpdates(StateLoop loop, Inbox inbox, SyncPointStore store, Map<String, MessageCallback> callbacks,
                BooleanSupplier closing, ConnectionManager connections, AckFlusher acks, DeliveryPump pump,
                Runnable resume) {
        this.loop = loop;
        this.inbox = inbox;
        this.store = store;
        this.callbacks = callbacks;
        this.closing = closing;
        this.connections = connections;
        this.acks = acks;
        this.pump = pump;
        this.resume = resume;
    }

    /**
     * Starts a scope over on timeline {@code epoch}: the attempt with the callback and any retry
     * of it end, the undispatched messages are dropped from the inbox (fsync'd), and the sync
     * point becomes {@code (epoch, 0)}. The caller queues the app's onFullUpdate behind it.
     *
     * @return false when the inbox could not record it; the connection is dropped then, and the
     *     next Hello, still on the old position, makes the server say FULL_UPDATE again
     */
    boolean restartScope(Connection c, ScopeKey key, long epoch, String detail) {
        try {
            List<SyncMessage> dropped = inbox.restart(key, epoch);
            LOG.info("restarting " + key + " on epoch " + epoch + " (" + detail + "); dropped " + dropped.size()
                    + " undispatched messages of the old timeline");
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot restart " + key + " in the inbox", e);
            connections.lost(c, "cannot write the inbox: " + e, false);
            return false;
        }
        pump.cancelScope(key);
        store.restart(key, epoch);
        acks.restarted(key);
        resume.run();
        return true;
    }

    void command(Connection c, Command command) {
        loop.checkThread();
        if (command.getType() != CommandType.FULL_UPDATE) {
            LOG.fine("ignoring a command this client does not know");
            return;
        }
        boolean epochs = c.version >= ProtocolVersion.EPOCHS;
        String bizType = command.getBizType();
        Scope scope = Wire.toScope(command.getScope());
        long epoch = epochs ? command.getEpoch() : 0;
        boolean restart = epochs && command.getRestart();
        if (restart) {
            for (ScopeKey key : scopesOf(c, bizType, scope)) {
                if (!restartScope(c, key, epoch, command.getDetail())) {
                    return;
                }
            }
        }
        signal(new FullUpdate(bizType, scope, epoch, restart, command.getDetail()));
    }

    /** The scopes a command about {@code bizType} (and {@code scope}, when the server named it) is about. */
    private List<ScopeKey> scopesOf(Connection c, String bizType, Scope scope) {
        if (scope == Scope.USER) {
            return c.sessionUserId == null ? Collections.<ScopeKey>emptyList()
                    : Collections.singletonList(ScopeKey.user(bizType, c.sessionUserId));
        }
        if (scope != null) {
            return Collections.singletonList(new ScopeKey(bizType, scope, ""));
        }
        // unnamed: every scope of the bizType this session could have been served
        List<ScopeKey> keys = new ArrayList<>();
        for (ScopeKey key : store.snapshot().keySet()) {
            if (key.bizType().equals(bizType) && key.visibleTo(c.sessionUserId)) {
                keys.add(key);
            }
        }
        return keys;
    }

    /** Tells the bizType's callback, or remembers it until one is registered. */
    void signal(FullUpdate update) {
        MessageCallback callback = callbacks.get(update.bizType());
        if (callback == null) {
            FullUpdate earlier = pendingFullUpdates.get(update.bizType());
            // a later gap must not hide that the scope was restarted: the app reloads either way
            if (earlier == null || !earlier.restart() || update.restart()) {
                pendingFullUpdates.put(update.bizType(), update);
            }
            return;
        }
        fullUpdate(callback, update);
    }

    /** A callback was registered for {@code bizType}: the FULL_UPDATE it missed, if any. */
    void registered(String bizType, MessageCallback callback) {
        loop.checkThread();
        FullUpdate update = pendingFullUpdates.remove(bizType);
        if (update != null) {
            fullUpdate(callback, update);
        }
    }

    /** Queued behind the attempts already with the callback executor, ahead of any that follow. */
    private void fullUpdate(MessageCallback callback, FullUpdate update) {
        loop.dispatch(() -> {
            if (closing.getAsBoolean()) {
                return;
            }
            try {
                callback.onFullUpdate(update);
            } catch (Throwable t) {
                LOG.log(Level.WARNING, "onFullUpdate(" + update + ") threw", t);
            }
        });
    }
}
