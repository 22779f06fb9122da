package io.mss.bench.client;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class NatsDecoderTest {

    private static void write(EmbeddedChannel channel, String text) {
        channel.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
    }

    @Test
    void controlLinesAndMessagesWithAndWithoutReply() {
        EmbeddedChannel channel = new EmbeddedChannel(new NatsDevices.NatsDecoder());
        write(channel, "INFO {\"tls_required\":true}\r\nPING\r\n"
                + "MSG deliver.d1 1 $JS.ACK.BENCH.d-d1.1.1.1.0.0 5\r\nhello\r\n"
                + "MSG all 1 3\r\nhey\r\n");

        assertThat((NatsDevices.Op) channel.readInbound()).isEqualTo(new NatsDevices.Op("INFO {\"tls_required\":true}", null, null));
        assertThat((NatsDevices.Op) channel.readInbound()).isEqualTo(new NatsDevices.Op("PING", null, null));
        assertThat((NatsDevices.Op) channel.readInbound())
                .isEqualTo(new NatsDevices.Op("MSG", "$JS.ACK.BENCH.d-d1.1.1.1.0.0", "hello"));
        assertThat((NatsDevices.Op) channel.readInbound()).isEqualTo(new NatsDevices.Op("MSG", null, "hey"));
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void messageSplitAcrossReadsWaitsForItsPayload() {
        EmbeddedChannel channel = new EmbeddedChannel(new NatsDevices.NatsDecoder());
        write(channel, "MSG deliver.d1 1 reply.1 11\r\nhello");
        assertThat(channel.inboundMessages()).isEmpty();
        write(channel, " world\r");
        assertThat(channel.inboundMessages()).isEmpty();
        write(channel, "\nPONG\r\n");

        assertThat((NatsDevices.Op) channel.readInbound()).isEqualTo(new NatsDevices.Op("MSG", "reply.1", "hello world"));
        assertThat((NatsDevices.Op) channel.readInbound()).isEqualTo(new NatsDevices.Op("PONG", null, null));
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void headersAreSkippedInHmsg() {
        EmbeddedChannel channel = new EmbeddedChannel(new NatsDevices.NatsDecoder());
        // 12 bytes of headers ("NATS/1.0\r\n\r\n"), then a 2-byte payload: 14 in total
        write(channel, "HMSG deliver.d1 1 reply.2 12 14\r\nNATS/1.0\r\n\r\nok\r\n");

        assertThat((NatsDevices.Op) channel.readInbound()).isEqualTo(new NatsDevices.Op("HMSG", "reply.2", "ok"));
        assertThat(channel.finish()).isFalse();
    }
}
