package io.mss.server.gateway;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

/** Which transport a connection came in on, for {@code mss.events} lines and metrics. */
final class Transport {
    static final String TCP = "tcp";
    static final String WEBSOCKET = "ws";
    private static final AttributeKey<String> KEY = AttributeKey.valueOf("mss.transport");

    private Transport() {
    }

    static void set(Channel channel, String transport) {
        channel.attr(KEY).set(transport);
    }

    /** {@code tcp} unless the connection's initializer said otherwise. */
    static String of(Channel channel) {
        String transport = channel.attr(KEY).get();
        return transport == null ? TCP : transport;
    }
}
