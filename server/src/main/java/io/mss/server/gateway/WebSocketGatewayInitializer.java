package io.mss.server.gateway;

import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.ssl.SslContext;

/**
 * The WebSocket port's transport: TLS (the sync port's certificate), HTTP/1.1 for the upgrade,
 * RFC 6455 framing, then {@link WebSocketFrameAdapter} in front of the shared frame handlers.
 * Without an {@link SslContext} it is plain {@code ws://}, which {@link GatewayServer} binds to
 * loopback only.
 */
final class WebSocketGatewayInitializer extends GatewayInitializer {
    static final String PATH = "/sync";
    static final String HTTP_CODEC = "httpCodec";
    static final String HTTP_AGGREGATOR = "httpAggregator";
    static final String WEBSOCKET = "webSocket";
    static final String WEBSOCKET_AGGREGATOR = "webSocketAggregator";
    static final String WEBSOCKET_ADAPTER = "webSocketAdapter";
    /** The upgrade request is headers only; browsers send a few KiB of them at most. */
    private static final int MAX_UPGRADE_REQUEST_BYTES = 16 * 1024;

    private final SslContext sslContext;
    private final WebSocketOrigins origins;

    WebSocketGatewayInitializer(GatewayContext gateway, SslContext sslContext, WebSocketOrigins origins) {
        super(gateway);
        this.sslContext = sslContext;
        this.origins = origins;
    }

    @Override
    String transport() {
        return Transport.WEBSOCKET;
    }

    @Override
    void addTransport(Channel ch, ChannelPipeline pipeline) {
        if (sslContext != null) {
            pipeline.addLast(TLS, sslContext.newHandler(ch.alloc()));
        }
        int cap = gateway.config().maxFrameBytes;
        pipeline.addLast(HTTP_CODEC, new HttpServerCodec());
        pipeline.addLast(HTTP_AGGREGATOR, new HttpObjectAggregator(MAX_UPGRADE_REQUEST_BYTES));
        pipeline.addLast(WEBSOCKET, new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder()
                .websocketPath(PATH)
                .checkStartsWith(true) // /sync?... too
                .handshakeTimeoutMillis(gateway.config().handshakeTimeoutSeconds * 1000L)
                .decoderConfig(WebSocketDecoderConfig.newBuilder()
                        .maxFramePayloadLength(cap)
                        .allowExtensions(false)
                        // refused by the adapter with an MSS Error frame first, as on TCP
                        .closeOnProtocolViolation(false)
                        .build())
                .build()));
        pipeline.addLast(WEBSOCKET_AGGREGATOR, new WebSocketFrameAggregator(cap));
        pipeline.addLast(WEBSOCKET_ADAPTER, new WebSocketFrameAdapter(gateway, origins));
    }
}
