package io.mss.client;

import java.util.Objects;

/**
 * A {@code FULL_UPDATE} command from the server: this device cannot get everything it should have
 * of a bizType by sync alone, and the app should reload it from its business backend. Immutable.
 *
 * <p>Two kinds (see {@link #restart()}): a <b>gap</b> (oplogs trimmed by a THRESHOLD bizType, or
 * expired) keeps the scope's timeline, and what follows continues above what the app has; a
 * <b>restart</b> means the device's position is not on the scope's current timeline (the server's
 * data was replaced or restored, the bizType deleted and created again): the client has dropped
 * what it held undispatched for the scope, and the messages that follow are the new timeline's,
 * with ids that start over.
 */
public final class FullUpdate {
    private final String bizType;
    private final Scope scope;
    private final long epoch;
    private final boolean restart;
    private final String detail;

    public FullUpdate(String bizType, Scope scope, long epoch, boolean restart, String detail) {
        this.bizType = Objects.requireNonNull(bizType, "bizType");
        this.scope = scope;
        this.epoch = epoch;
        this.restart = restart;
        this.detail = detail == null ? "" : detail;
    }

    public String bizType() {
        return bizType;
    }

    /** The scope the command is about; null when the server did not say (version 1). */
    public Scope scope() {
        return scope;
    }

    /** The scope's current timeline; 0 from a version 1 server. */
    public long epoch() {
        return epoch;
    }

    /**
     * True: the client started the scope over on {@link #epoch()}, dropping its undispatched
     * messages of the old timeline. False: a gap on the same timeline; nothing was dropped.
     */
    public boolean restart() {
        return restart;
    }

    /** The server's human-readable reason, possibly empty. */
    public String detail() {
        return detail;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof FullUpdate)) {
            return false;
        }
        FullUpdate f = (FullUpdate) o;
        return epoch == f.epoch && restart == f.restart && bizType.equals(f.bizType) && scope == f.scope
                && detail.equals(f.detail);
    }

    @Override
    public int hashCode() {
        return Objects.hash(bizType, scope, epoch, restart, detail);
    }

    @Override
    public String toString() {
        return "FullUpdate{" + bizType + (scope == null ? "" : " " + scope) + " epoch=" + epoch
                + (restart ? " restart" : " gap") + (detail.isEmpty() ? "" : " detail=" + detail) + '}';
    }
}
