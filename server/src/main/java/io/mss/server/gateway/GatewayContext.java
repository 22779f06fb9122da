package io.mss.server.gateway;

import io.mss.server.auth.TokenVerifier;
import io.mss.server.config.ServerConfig;
import io.mss.server.sync.SyncEngine;

/** What every connection's handlers share. */
record GatewayContext(ServerConfig config, TokenVerifier tokens, SyncEngine engine) {

    /** A client pings every heartbeat interval; two and a half missed means it is gone. */
    long idleTimeoutMillis() {
        return config.heartbeatSeconds * 2500L;
    }
}
