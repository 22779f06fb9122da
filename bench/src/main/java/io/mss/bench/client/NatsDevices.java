package io.mss.bench.client;

import io.mss.bench.targets.Loopback;
import io.mss.bench.targets.Receiver;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;

import javax.net.ssl.SSLException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * NATS devices on Netty: the core text protocol (INFO, CONNECT, SUB, MSG, PING/PONG) with the TLS
 * upgrade after INFO that nats-server 2.9 requires. Each device subscribes to the deliver subject of
 * its JetStream push consumer and acks every message on its reply subject, as jnats does with
 * explicit acks. jnats itself needs threads per connection, too many for ten thousand devices.
 */
public final class NatsDevices implements AutoCloseable {
    private final ClientLoop loop;
    private final SslContext ssl;
    private final InetSocketAddress server;
    private final WireCounter counter = new WireCounter();
    private final Map<String, Channel> channels = new ConcurrentHashMap<>();

    public NatsDevices(ClientLoop loop, Path serverCert, InetSocketAddress server) throws SSLException {
        this.loop = loop;
        this.ssl = SslContextBuilder.forClient().trustManager(serverCert.toFile()).build();
        this.server = server;
    }

    public long wireBytes() {
        return counter.bytes();
    }

    /** Connects and subscribes to {@code subject}; completes once the server answered the PING after SUB. */
    public CompletableFuture<Void> connect(String deviceId, int sourceIndex, String subject, Receiver receiver) {
        CompletableFuture<Void> ready = new CompletableFuture<>();
        loop.bootstrap().handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(WireCounter.NAME, counter)
                        .addLast("decoder", new NatsDecoder())
                        .addLast("device", new DeviceHandler(deviceId, subject, receiver, ready));
            }
        }).connect(server, Loopback.source(sourceIndex)).addListener(f -> {
            if (!f.isSuccess()) {
                ready.completeExceptionally(f.cause());
            }
        });
        return ready;
    }

    public CompletableFuture<Void> disconnect(String deviceId) {
        Channel channel = channels.remove(deviceId);
        CompletableFuture<Void> closed = new CompletableFuture<>();
        if (channel == null) {
            closed.complete(null);
        } else {
            channel.close().addListener(f -> closed.complete(null));
        }
        return closed;
    }

    @Override
    public void close() {
        channels.values().forEach(Channel::close);
    }

    /** One protocol operation: its control line, and the payload for MSG / HMSG. */
    record Op(String line, String replyTo, String payload) {
    }

    /** Splits the byte stream into control lines and MSG / HMSG payloads. */
    static final class NatsDecoder extends ByteToMessageDecoder {
        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            while (true) {
                int start = in.readerIndex();
                int lf = in.indexOf(start, in.writerIndex(), (byte) '\n');
                if (lf < 0) {
                    return;
                }
                String line = in.toString(start, lf - start, StandardCharsets.US_ASCII).trim();
                if (line.startsWith("MSG ") || line.startsWith("HMSG ")) {
                    String[] parts = line.split(" ");
                    boolean headers = parts[0].equals("HMSG");
                    int total = Integer.parseInt(parts[parts.length - 1]);
                    int headerBytes = headers ? Integer.parseInt(parts[parts.length - 2]) : 0;
                    int fixed = headers ? 5 : 4; // op subject sid [reply] [hdrlen] total
                    String reply = parts.length > fixed ? parts[3] : null;
                    if (in.writerIndex() - (lf + 1) < total + 2) {
                        return; // the payload has not all arrived
                    }
                    String payload = in.toString(lf + 1 + headerBytes, total - headerBytes, StandardCharsets.UTF_8);
                    in.readerIndex(lf + 1 + total + 2);
                    out.add(new Op(parts[0], reply, payload));
                } else {
                    in.readerIndex(lf + 1);
                    out.add(new Op(line, null, null));
                }
            }
        }
    }

    private final class DeviceHandler extends SimpleChannelInboundHandler<Op> {
        private final String deviceId;
        private final String subject;
        private final Receiver receiver;
        private final CompletableFuture<Void> ready;

        DeviceHandler(String deviceId, String subject, Receiver receiver, CompletableFuture<Void> ready) {
            this.deviceId = deviceId;
            this.subject = subject;
            this.receiver = receiver;
            this.ready = ready;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Op op) {
            String line = op.line();
            if (op.payload() != null) {
                receiver.received(deviceId, op.payload());
                if (op.replyTo() != null) {
                    write(ctx, "PUB " + op.replyTo() + " 0\r\n\r\n"); // explicit ack
                }
            } else if (line.startsWith("INFO")) {
                SslHandler tls = ssl.newHandler(ctx.alloc(), server.getHostString(), server.getPort());
                ctx.pipeline().addAfter(WireCounter.NAME, "tls", tls);
                tls.handshakeFuture().addListener(f -> {
                    if (!f.isSuccess()) {
                        ready.completeExceptionally(f.cause());
                        return;
                    }
                    channels.put(deviceId, ctx.channel());
                    write(ctx, "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":true,\"name\":\"" + deviceId
                            + "\",\"lang\":\"java\",\"version\":\"bench\",\"protocol\":1,\"headers\":true}\r\nSUB "
                            + subject + " 1\r\nPING\r\n");
                });
            } else if (line.equals("PING")) {
                write(ctx, "PONG\r\n");
            } else if (line.equals("PONG")) {
                ready.complete(null);
            } else if (line.startsWith("-ERR")) {
                ready.completeExceptionally(new IllegalStateException(deviceId + ": " + line));
            }
        }

        private void write(ChannelHandlerContext ctx, String text) {
            ctx.writeAndFlush(ctx.alloc().buffer(text.length()).writeBytes(text.getBytes(StandardCharsets.UTF_8)));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            ready.completeExceptionally(new IllegalStateException(deviceId + ": connection closed"));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ready.completeExceptionally(cause);
            ctx.close();
        }
    }
}
