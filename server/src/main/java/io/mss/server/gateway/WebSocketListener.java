package io.mss.server.gateway;

import io.mss.server.config.ServerConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;

/**
 * Binds the WebSocket port ({@code ws-port}) next to the sync port: a port of its own rather
 * than protocol detection on the sync port, so that the sync port stays byte-for-byte the TCP
 * protocol (no sniffing before TLS, no HTTP parser in front of every app connection), browsers
 * get a port that speaks nothing but HTTP upgrades, and firewalls and load balancers can treat
 * the two differently (an HTTP-aware proxy in front of one, plain TCP for the other).
 */
final class WebSocketListener {
    private static final Logger log = LoggerFactory.getLogger(WebSocketListener.class);

    final Channel channel;
    final WebSocketOrigins origins;

    private WebSocketListener(Channel channel, WebSocketOrigins origins) {
        this.channel = channel;
        this.origins = origins;
    }

    static WebSocketListener bind(ServerConfig config, GatewayContext context, EventLoopGroup boss,
                                  EventLoopGroup workers, Class<? extends ServerChannel> channelClass, SslContext ssl)
            throws InterruptedException {
        String host = config.bindHost;
        SslContext tls = ssl;
        if (config.wsInsecureLoopback) {
            // plain ws:// carries tokens in the clear: only ever reachable from this machine
            host = "127.0.0.1";
            tls = null;
            log.warn("WebSocket port {} is plain ws:// on 127.0.0.1 (ws-insecure-loopback: true): for development only",
                    config.wsPort);
        }
        WebSocketOrigins origins = new WebSocketOrigins(config.wsAllowedOrigins, config.httpPort);
        Channel channel = new ServerBootstrap()
                .group(boss, workers)
                .channel(channelClass)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(config.writeBufferLowBytes, config.writeBufferHighBytes))
                .childHandler(new WebSocketGatewayInitializer(context, tls, origins))
                .bind(new InetSocketAddress(host, config.wsPort))
                .sync()
                .channel();
        return new WebSocketListener(channel, origins);
    }
}
