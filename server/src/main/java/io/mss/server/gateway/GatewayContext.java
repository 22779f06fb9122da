package io.mss.server.gateway;

import io.mss.server.auth.TokenVerifier;
import io.mss.server.config.ServerConfig;
import io.mss.server.identity.SessionValidator;
import io.mss.server.sync.SyncEngine;
import io.mss.server.upstream.UpstreamRelay;

/** What every connection's handlers share. */
record GatewayContext(ServerConfig config, TokenVerifier tokens, SyncEngine engine, SessionValidator sessions,
                      UpstreamRelay upstream, ConnectionLimiter connections) {

    /** A client pings every heartbeat interval; two and a half missed means it is gone. */
    long idleTimeoutMillis() {
        return config.heartbeatSeconds * 2500L;
    }
}
