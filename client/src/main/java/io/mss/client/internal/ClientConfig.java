package io.mss.client.internal;

import io.mss.client.TokenProvider;
import io.mss.protocol.Frames;

import java.io.File;
import java.util.concurrent.Executor;
import javax.net.ssl.X509TrustManager;

/**
 * The builder's settings. Mutable only inside {@code MssClient.Builder}; the client gets its own
 * {@link #copy()}, so later builder calls do not affect it.
 */
public final class ClientConfig {
    public String host;
    public int port;
    public File trustPem;
    public X509TrustManager trustManager;
    public boolean insecureTrustAll;
    public String deviceId;
    public TokenProvider tokenProvider;
    public File stateDir;
    public Executor callbackExecutor;
    public String osType = "java";
    public String appVersion = "";
    public boolean autoAck;
    public long backoffMinMillis = 500;
    public long backoffMaxMillis = 30_000;
    public int connectTimeoutMillis = 10_000;
    public int maxFrameBytes = Frames.DEFAULT_MAX_FRAME_BYTES;
    public long ackTimeoutMillis = 30_000;
    public long upstreamTimeoutMillis = 30_000;
    public long redeliveryMinMillis = 500;
    public long redeliveryMaxMillis = 10_000;

    public ClientConfig copy() {
        ClientConfig c = new ClientConfig();
        c.host = host;
        c.port = port;
        c.trustPem = trustPem;
        c.trustManager = trustManager;
        c.insecureTrustAll = insecureTrustAll;
        c.deviceId = deviceId;
        c.tokenProvider = tokenProvider;
        c.stateDir = stateDir;
        c.callbackExecutor = callbackExecutor;
        c.osType = osType;
        c.appVersion = appVersion;
        c.autoAck = autoAck;
        c.backoffMinMillis = backoffMinMillis;
        c.backoffMaxMillis = backoffMaxMillis;
        c.connectTimeoutMillis = connectTimeoutMillis;
        c.maxFrameBytes = maxFrameBytes;
        c.ackTimeoutMillis = ackTimeoutMillis;
        c.upstreamTimeoutMillis = upstreamTimeoutMillis;
        c.redeliveryMinMillis = redeliveryMinMillis;
        c.redeliveryMaxMillis = redeliveryMaxMillis;
        return c;
    }

    void validate() {
        if (host == null) {
            throw new IllegalStateException("server(host, port) is required");
        }
        if (deviceId == null) {
            throw new IllegalStateException("deviceId is required");
        }
        if (tokenProvider == null) {
            throw new IllegalStateException("tokenProvider is required");
        }
        if (stateDir == null) {
            throw new IllegalStateException("stateDir is required");
        }
    }
}
