package io.mss.client.internal;

import io.mss.client.internal.proto.Welcome;

/**
 * What the frame intake needs of the {@link ConnectionManager}: which connection frames are taken
 * from, and how one is welcomed or ended. State thread.
 */
interface ConnectionControl {
    /** The connection frames are taken from, or null. */
    Connection current();

    void welcomed(Connection c, Welcome w);

    void lost(Connection c, String reason, boolean fatal);

    void refused(Connection c, String reason, boolean retry, String serverErrorCode);
}
