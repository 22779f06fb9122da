package io.mss.server.gateway;

import io.mss.server.auth.TokenVerifier;
import io.mss.server.config.ServerConfig;
import io.mss.server.identity.SessionValidator;
import io.mss.server.sync.SyncEngine;
import io.mss.server.upstream.UpstreamRelay;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import java.io.File;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The sync port (TLS over TCP, TLS 1.2 and 1.3 only) and the WebSocket port (the same TLS,
 * the same handlers behind a WebSocket adapter). Both share event loops and connection limits.
 */
public final class GatewayServer implements AutoCloseable {
    /** Forward secrecy and AEAD only; TLS 1.3's own suites are all of that kind. */
    static final List<String> STRONG_CIPHERS = List.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Channel serverChannel;
    /** Null when ws-port is -1. */
    private final WebSocketListener webSocket;
    private final String tlsProvider;
    private final SessionValidator sessions;
    private final UpstreamRelay upstream;

    public GatewayServer(ServerConfig config, TokenVerifier tokens, SyncEngine engine, File certFile, File keyFile)
            throws Exception {
        boolean epoll = Epoll.isAvailable();
        SslProvider provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        this.tlsProvider = provider.name();
        SslContext ssl = SslContextBuilder.forServer(certFile, keyFile)
                .sslProvider(provider)
                .protocols("TLSv1.3", "TLSv1.2")
                .ciphers(STRONG_CIPHERS)
                .build();
        this.boss = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.workers = new MultiThreadIoEventLoopGroup(0, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        Class<? extends ServerChannel> channelClass = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        this.sessions = new SessionValidator(config, Clock.systemUTC());
        this.upstream = new UpstreamRelay(config, engine::bizType, Clock.systemUTC());
        GatewayContext context = new GatewayContext(config, tokens, engine, sessions, upstream,
                new ConnectionLimiter(config.maxConnectionsPerIp));
        Channel bound = null;
        WebSocketListener webSocket = null;
        try {
            bound = new ServerBootstrap()
                    .group(boss, workers)
                    .channel(channelClass)
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                            new WriteBufferWaterMark(config.writeBufferLowBytes, config.writeBufferHighBytes))
                    .childHandler(new TlsGatewayInitializer(context, ssl))
                    .bind(new InetSocketAddress(config.bindHost, config.syncPort))
                    .sync()
                    .channel();
            if (config.wsPort != -1) {
                webSocket = WebSocketListener.bind(config, context, boss, workers, channelClass, ssl);
            }
        } catch (Exception e) {
            if (bound != null) {
                bound.close().awaitUninterruptibly();
            }
            boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            sessions.close();
            upstream.close();
            throw e;
        }
        this.serverChannel = bound;
        this.webSocket = webSocket;
    }

    /** The WebSocket port; -1 when the transport is off. */
    public int wsPort() {
        return webSocket == null ? -1 : ((InetSocketAddress) webSocket.channel.localAddress()).getPort();
    }

    /** The port the console is served on, whose origin may always open the WebSocket; known once the HTTP API runs. */
    public void consolePort(int httpPort) {
        if (webSocket != null) {
            webSocket.origins.consolePort(httpPort);
        }
    }

    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    public String tlsProvider() {
        return tlsProvider;
    }

    @Override
    public void close() {
        serverChannel.close().awaitUninterruptibly();
        if (webSocket != null) {
            webSocket.channel.close().awaitUninterruptibly();
        }
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        sessions.close();
        upstream.close();
    }

    /** Upstream messages being forwarded and results kept for resends, for metrics and tests. */
    public UpstreamRelay upstream() {
        return upstream;
    }

    /** The session-validation webhook client, for metrics and tests. */
    public SessionValidator sessionValidator() {
        return sessions;
    }
}
