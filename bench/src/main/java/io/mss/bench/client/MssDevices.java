package io.mss.bench.client;

import io.mss.bench.targets.Loopback;
import io.mss.bench.targets.Receiver;
import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.BizBatch;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.Ping;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.handler.codec.protobuf.ProtobufVarint32FrameDecoder;
import io.netty.handler.codec.protobuf.ProtobufVarint32LengthFieldPrepender;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

import javax.net.ssl.SSLException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * MSS devices over real TLS connections from one process, speaking the protocol the way the SDK
 * does: Hello with a token and the stored sync points, an Ack with the new sync points after every
 * SyncData frame, a Ping at the heartbeat interval the Welcome announces. Each device's state is
 * touched only on its channel's event loop.
 */
public final class MssDevices implements AutoCloseable {
    private final ClientLoop loop;
    private final SslContext ssl;
    private final InetSocketAddress server;
    private final Function<String, String> tokens;
    private final WireCounter counter = new WireCounter();
    private final Map<String, Device> devices = new ConcurrentHashMap<>();

    public MssDevices(ClientLoop loop, Path serverCert, InetSocketAddress server, Function<String, String> tokens)
            throws SSLException {
        this.loop = loop;
        this.ssl = SslContextBuilder.forClient().trustManager(serverCert.toFile()).build();
        this.server = server;
        this.tokens = tokens;
    }

    public long wireBytes() {
        return counter.bytes();
    }

    public CompletableFuture<Void> connect(String deviceId, int sourceIndex, List<String> bizTypes, Receiver receiver) {
        Device device = devices.computeIfAbsent(deviceId, Device::new);
        CompletableFuture<Void> ready = new CompletableFuture<>();
        device.ready = ready;
        device.bizTypes = bizTypes;
        device.receiver = receiver;
        loop.bootstrap().handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(WireCounter.NAME, counter)
                        .addLast("tls", ssl.newHandler(ch.alloc(), server.getHostString(), server.getPort()))
                        .addLast("frame-decoder", new ProtobufVarint32FrameDecoder())
                        .addLast("decoder", new ProtobufDecoder(ServerFrame.getDefaultInstance()))
                        .addLast("frame-encoder", new ProtobufVarint32LengthFieldPrepender())
                        .addLast("encoder", new ProtobufEncoder())
                        .addLast("device", new DeviceHandler(device));
            }
        }).connect(server, Loopback.source(sourceIndex)).addListener(f -> {
            if (!f.isSuccess()) {
                ready.completeExceptionally(f.cause());
            }
        });
        return ready;
    }

    public CompletableFuture<Void> disconnect(String deviceId) {
        Device device = devices.get(deviceId);
        if (device == null || device.channel == null) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> closed = new CompletableFuture<>();
        device.channel.close().addListener(f -> closed.complete(null));
        return closed;
    }

    @Override
    public void close() {
        for (Device device : devices.values()) {
            if (device.channel != null) {
                device.channel.close();
            }
        }
    }

    /** One app install: its sync points survive reconnects like the SDK's persisted ones. */
    private static final class Device {
        final String id;
        final Map<String, SyncPoint> syncPoints = new ConcurrentHashMap<>();
        volatile List<String> bizTypes;
        volatile Receiver receiver;
        volatile CompletableFuture<Void> ready;
        volatile Channel channel;

        Device(String id) {
            this.id = id;
        }
    }

    private final class DeviceHandler extends SimpleChannelInboundHandler<ServerFrame> {
        private final Device device;

        DeviceHandler(Device device) {
            this.device = device;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            device.channel = ctx.channel();
            Hello.Builder hello = Hello.newBuilder().setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                    .setToken(tokens.apply(device.id)).setDeviceId(device.id)
                    .setOsType("android").setAppVersion("1.0.0")
                    .addAllBizTypes(device.bizTypes).addAllSyncPoints(device.syncPoints.values());
            ctx.writeAndFlush(ClientFrame.newBuilder().setHello(hello).build());
            ctx.fireChannelActive();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ServerFrame frame) {
            switch (frame.getKindCase()) {
                case WELCOME -> {
                    long interval = Math.max(1000, frame.getWelcome().getHeartbeatIntervalMs());
                    ctx.executor().scheduleAtFixedRate(() -> ctx.writeAndFlush(ClientFrame.newBuilder()
                            .setPing(Ping.newBuilder().setTimestamp(System.currentTimeMillis())).build()),
                            interval, interval, TimeUnit.MILLISECONDS);
                    device.ready.complete(null);
                }
                case SYNC_DATA -> {
                    Ack.Builder ack = Ack.newBuilder();
                    for (BizBatch batch : frame.getSyncData().getBatchesList()) {
                        long last = 0;
                        for (Oplog oplog : batch.getOplogsList()) {
                            device.receiver.received(device.id, oplog.getPayload());
                            last = oplog.getId();
                        }
                        if (last > 0) {
                            SyncPoint point = SyncPoint.newBuilder().setBizType(batch.getBizType())
                                    .setScope(batch.getScope()).setId(last).build();
                            device.syncPoints.put(batch.getBizType() + '|' + batch.getScope(), point);
                            ack.addSyncPoints(point);
                        }
                    }
                    if (ack.getSyncPointsCount() > 0) {
                        ctx.writeAndFlush(ClientFrame.newBuilder().setAck(ack).build());
                    }
                }
                case ERROR -> device.ready.completeExceptionally(
                        new IllegalStateException(device.id + ": " + frame.getError().getCode() + " " + frame.getError().getMessage()));
                default -> {
                    // Pong, Command: nothing to do for a benchmark device
                }
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            device.ready.completeExceptionally(new IllegalStateException(device.id + ": connection closed"));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            device.ready.completeExceptionally(cause);
            ctx.close();
        }
    }
}
