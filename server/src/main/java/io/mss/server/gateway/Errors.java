package io.mss.server.gateway;

import io.mss.protocol.v1.Error;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.ServerFrame;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.util.AttributeKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one way the gateway refuses a client: an error frame, then a deliberate close. */
final class Errors {
    private static final Logger events = LoggerFactory.getLogger("mss.events");
    /** The code a connection was closed with: a refused handshake is counted under it. */
    static final AttributeKey<ErrorCode> CLOSED_WITH = AttributeKey.valueOf("mss.closedWith");

    private Errors() {
    }

    static void closeWith(Channel channel, ErrorCode code, String message, boolean retry) {
        events.info("close remote={} code={} retry={} reason=\"{}\" transport={}", channel.remoteAddress(), code, retry,
                message, Transport.of(channel));
        channel.attr(CLOSED_WITH).setIfAbsent(code);
        ServerFrame frame = ServerFrame.newBuilder()
                .setError(Error.newBuilder().setCode(code).setMessage(message).setRetry(retry))
                .build();
        channel.writeAndFlush(frame).addListener(ChannelFutureListener.CLOSE);
    }
}
