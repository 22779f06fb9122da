package io.mss.server.gateway;

import io.mss.protocol.v1.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.CharsetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.PromiseCombiner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;

/**
 * Between WebSocket messages and the shared frame handlers: one binary message carries one
 * MSS frame, without the varint length prefix (the message has a length of its own).
 *
 * <p>Inbound, a message's bytes get their prefix back and go to the shared {@link FrameDecoder},
 * so the cap and {@code BAD_FRAME} rules are the TCP transport's, byte for byte. A message
 * over the cap never reaches it: Netty's WebSocket decoder refuses it from its header, and the
 * refusal turns into the same {@link FrameDecodeFailure} the TCP decoder would emit.
 * Outbound, the shared {@link FrameEncoder}'s output (and the pre-encoded buffers the sync
 * engine writes for live runs) is split at its prefixes into one binary message per frame.
 * A close becomes a WebSocket close with a status a browser can read: 4000 + the
 * {@link ErrorCode} number the connection was refused with, 1000 otherwise.
 *
 * <p>The Origin check runs when the upgrade completes, before any MSS frame is read: a refused
 * origin is closed with 1008 and a reason naming the setting, and nothing it sends is read.
 * Runs on the channel's event loop only, as every handler of the pipeline.
 */
final class WebSocketFrameAdapter extends ChannelDuplexHandler {
    private static final Logger events = LoggerFactory.getLogger("mss.events");
    /** RFC 6455: the application's own close codes start here. */
    static final int ERROR_CLOSE_BASE = 4000;
    /** A close frame's reason is at most 123 bytes of UTF-8. */
    private static final int MAX_CLOSE_REASON_BYTES = 123;

    private final GatewayContext gateway;
    private final WebSocketOrigins origins;
    private boolean upgraded;
    private boolean refused;
    private boolean closeSent;
    /**
     * After our Close frame, how long the client has to answer with its own before the TCP
     * connection is closed anyway (RFC 6455 7.1.1: the server closes TCP after the close
     * handshake). Closing at once, while the client is still sending (a message over the cap),
     * makes the kernel reset the connection, and the client loses the Error and Close it had
     * not read yet.
     */
    static final long CLOSE_LINGER_MS = 2_000;
    private io.netty.util.concurrent.ScheduledFuture<?> linger;

    WebSocketFrameAdapter(GatewayContext gateway, WebSocketOrigins origins) {
        this.gateway = gateway;
        this.origins = origins;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete upgrade) {
            String origin = upgrade.requestHeaders().get(HttpHeaderNames.ORIGIN);
            String host = upgrade.requestHeaders().get(HttpHeaderNames.HOST);
            if (!origins.allows(origin, host)) {
                refuseOrigin(ctx, origin);
                return;
            }
            upgraded = true;
            // Netty's protocol handler closes the channel at once after passing on any exception,
            // which for a message refused from its header (over the cap, still being sent) is the
            // immediate close that resets the connection and loses the Error: the decoder's
            // refusals are turned into messages behind the decoder, before that handler
            ctx.pipeline().addBefore(WebSocketGatewayInitializer.WEBSOCKET, DECODER_REFUSALS,
                    new DecoderRefusals(gateway.config().maxFrameBytes));
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    static final String DECODER_REFUSALS = "webSocketDecoderRefusals";

    /**
     * Behind Netty's WebSocket decoder and its UTF-8 validator, before the protocol handler: what
     * they refuse becomes the {@link FrameDecodeFailure}
     * the TCP decoder would emit, passed on as a message (the protocol handler and the aggregator
     * let it through), so that the session answers with an Error and closes with the linger below.
     */
    static final class DecoderRefusals extends io.netty.channel.ChannelInboundHandlerAdapter {
        private final int maxFrameBytes;

        DecoderRefusals(int maxFrameBytes) {
            this.maxFrameBytes = maxFrameBytes;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof CorruptedWebSocketFrameException corrupted) {
                ctx.fireChannelRead(refusal(corrupted, maxFrameBytes));
                return;
            }
            ctx.fireExceptionCaught(cause);
        }

        private static FrameDecodeFailure refusal(CorruptedWebSocketFrameException corrupted, int maxFrameBytes) {
            boolean tooBig = corrupted.closeStatus() != null
                    && corrupted.closeStatus().code() == WebSocketCloseStatus.MESSAGE_TOO_BIG.code();
            return new FrameDecodeFailure(tooBig ? ErrorCode.FRAME_TOO_LARGE : ErrorCode.BAD_FRAME,
                    tooBig ? "WebSocket message exceeds the frame cap of " + maxFrameBytes + " bytes"
                            : "not a valid WebSocket frame: " + corrupted.getMessage());
        }
    }


    private void refuseOrigin(ChannelHandlerContext ctx, String origin) {
        refused = true;
        events.info("refuse remote={} transport={} reason=\"origin {} is not allowed (ws-allowed-origins)\"",
                ctx.channel().remoteAddress(), Transport.WEBSOCKET, origin);
        gateway.engine().metrics().webSocketRefused("origin");
        // counted here, not again as an aborted handshake
        if (ctx.pipeline().get(GatewayInitializer.HANDSHAKE) != null) {
            ctx.pipeline().remove(GatewayInitializer.HANDSHAKE);
        }
        sendClose(ctx, WebSocketCloseStatus.POLICY_VIOLATION.code(),
                "origin " + origin + " is not allowed (ws-allowed-origins)");
        ctx.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closeSent && !(msg instanceof CloseWebSocketFrame)) {
            ReferenceCountUtil.release(msg); // closing: only the client's Close still matters
            return;
        }
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof FullHttpRequest request) {
            // not the WebSocket path: this port serves nothing else
            notFound(ctx, request);
            return;
        }
        if (msg instanceof BinaryWebSocketFrame frame) {
            ByteBuf body = frame.content();
            ByteBuf prefix = ctx.alloc().buffer(5);
            writeVarint32(prefix, body.readableBytes());
            CompositeByteBuf framed = ctx.alloc().compositeBuffer(2);
            framed.addComponents(true, prefix, body.retain());
            frame.release();
            ctx.fireChannelRead(framed);
            return;
        }
        if (msg instanceof WebSocketFrame other) {
            other.release();
            ctx.fireChannelRead(new FrameDecodeFailure(ErrorCode.BAD_FRAME,
                    "MSS frames are binary WebSocket messages, got " + other.getClass().getSimpleName()));
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // what Netty's WebSocket aggregator refuses is refused the MSS way, an Error frame, then
        // close (the decoder's refusals are taken by DecoderRefusals)
        if (cause instanceof TooLongFrameException && upgraded) {
            ctx.fireChannelRead(new FrameDecodeFailure(ErrorCode.FRAME_TOO_LARGE,
                    "fragmented WebSocket message exceeds the frame cap of " + gateway.config().maxFrameBytes + " bytes"));
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof ByteBuf frames)) {
            ctx.write(msg, promise); // the upgrade's HTTP response, close frames
            return;
        }
        if (!upgraded || closeSent) {
            // an Error frame for a connection that never upgraded (a handshake timeout), or one already closing
            frames.release();
            promise.trySuccess();
            return;
        }
        try {
            PromiseCombiner written = new PromiseCombiner(ctx.executor());
            while (frames.isReadable()) {
                int length = readVarint32(frames);
                if (length < 0 || length > frames.readableBytes()) {
                    throw new IllegalStateException("outbound buffer is not a run of length-prefixed frames");
                }
                written.add(ctx.write(new BinaryWebSocketFrame(frames.readRetainedSlice(length))));
            }
            written.finish(promise);
        } finally {
            frames.release();
        }
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (upgraded && !closeSent && ctx.channel().isActive()) {
            io.mss.protocol.v1.ErrorCode code = ctx.channel().attr(Errors.CLOSED_WITH).get();
            if (code == null) {
                sendClose(ctx, WebSocketCloseStatus.NORMAL_CLOSURE.code(), "");
            } else {
                sendClose(ctx, ERROR_CLOSE_BASE + code.getNumber(), code.name());
            }
            // wait for the client's Close (Netty's protocol handler closes the channel on it), or
            // the linger; what it still sends meanwhile is read and dropped (after a refused
            // message the decoder drops everything, the client's Close too: then the linger ends it)
            ctx.channel().config().setAutoRead(true);
            linger = ctx.executor().schedule(() -> {
                ctx.close(promise);
            }, CLOSE_LINGER_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
            ctx.channel().closeFuture().addListener(f -> {
                linger.cancel(false);
                promise.trySuccess();
            });
            return;
        }
        if (linger != null) {
            linger.cancel(false); // closed again while lingering: now
        }
        ctx.close(promise);
    }

    private void sendClose(ChannelHandlerContext ctx, int status, String reason) {
        closeSent = true;
        ctx.writeAndFlush(new CloseWebSocketFrame(status, truncate(reason)));
    }

    private static String truncate(String reason) {
        byte[] bytes = reason.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= MAX_CLOSE_REASON_BYTES) {
            return reason;
        }
        int end = MAX_CLOSE_REASON_BYTES;
        while (end > 0 && (bytes[end] & 0xC0) == 0x80) {
            end--; // never cut a character in two
        }
        return new String(bytes, 0, end, StandardCharsets.UTF_8);
    }

    private void notFound(ChannelHandlerContext ctx, FullHttpRequest request) {
        request.release();
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND,
                Unpooled.copiedBuffer("MSS WebSocket transport: connect to /sync\n", CharsetUtil.UTF_8));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes())
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }

    private static void writeVarint32(ByteBuf out, int value) {
        while ((value & ~0x7F) != 0) {
            out.writeByte((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out.writeByte(value);
    }

    /** The prefix the shared encoder wrote; -1 when it is malformed. */
    private static int readVarint32(ByteBuf in) {
        int value = 0;
        for (int shift = 0; shift < 35 && in.isReadable(); shift += 7) {
            byte b = in.readByte();
            value |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        return -1;
    }
}
