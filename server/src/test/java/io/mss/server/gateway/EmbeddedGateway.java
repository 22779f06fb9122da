package io.mss.server.gateway;

import io.mss.protocol.Frames;
import io.mss.protocol.v1.ServerFrame;
import io.mss.server.auth.TokenVerifier;
import io.mss.server.biz.BizType;
import io.mss.server.config.ServerConfig;
import io.mss.server.identity.SessionValidator;
import io.mss.server.store.OplogStore;
import io.mss.server.store.rocksdb.RocksDbStore;
import io.mss.server.sync.SyncEngine;
import io.mss.server.upstream.UpstreamRelay;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.embedded.EmbeddedChannel;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * The gateway's real pipeline (frame codec, idle detection, handshake, session) on an
 * {@link EmbeddedChannel}, over a real engine and RocksDB store: bytes in, bytes out, and time
 * moved by hand. Everything runs on the test's thread, which is the channel's event loop.
 */
final class EmbeddedGateway implements AutoCloseable {
    static final String SECRET = "embedded-gateway-test-secret-of-32-bytes!";

    final ServerConfig config = new ServerConfig();
    final RocksDbStore store;
    final SyncEngine engine;
    final TokenVerifier tokens = new TokenVerifier(SECRET, Clock.systemUTC());
    private final GatewayContext context;
    /** Committed oplogs the engine's listeners have handled; guarded by itself. */
    private final long[] dispatched = new long[1];

    EmbeddedGateway(Path dir) {
        this(dir, new ServerConfig().maxOplogsPerFrame, oplogs -> oplogs);
    }

    EmbeddedGateway(Path dir, int maxOplogsPerFrame) {
        this(dir, maxOplogsPerFrame, oplogs -> oplogs);
    }

    /**
     * CHAT and MAIL (appointed users) and NEWS (global), with frames of at most this many oplogs;
     * the engine sees the RocksDB store's oplogs through {@code oplogView}.
     */
    EmbeddedGateway(Path dir, int maxOplogsPerFrame, UnaryOperator<OplogStore> oplogView) {
        config.maxOplogsPerFrame = maxOplogsPerFrame;
        store = RocksDbStore.open(dir.resolve("store"));
        store.put(BizType.of("CHAT", BizType.Range.APPOINTED, BizType.Target.USER));
        store.put(BizType.of("MAIL", BizType.Range.APPOINTED, BizType.Target.USER));
        store.put(BizType.of("NEWS", BizType.Range.GLOBAL, BizType.Target.USER));
        engine = new SyncEngine(oplogView.apply(store), store, store, Clock.systemUTC(), config.maxOplogsPerFrame,
                config.maxFrameBytes);
        // after the engine's own listeners: when it counts an oplog, the sessions' tasks for it are queued
        store.onCommit(committed -> {
            synchronized (dispatched) {
                dispatched[0] += committed.size();
                dispatched.notifyAll();
            }
        });
        context = new GatewayContext(config, tokens, engine, new SessionValidator(config, Clock.systemUTC()),
                new UpstreamRelay(config, engine::bizType, Clock.systemUTC()), new ConnectionLimiter(0));
    }

    /** A new connection, its pipeline built as every transport's is (below the frames: nothing). */
    EmbeddedChannel connect() {
        return new EmbeddedChannel(new GatewayInitializer(context) {
            @Override
            void addTransport(Channel ch, ChannelPipeline pipeline) {
                // no TLS: the frames are what is under test
            }
        });
    }

    /**
     * Waits until the engine handed this many committed oplogs (in all) to the sessions. The
     * embedded event loop's task queue is not thread-safe: the test's thread may run it only when
     * the writer thread has stopped adding to it.
     */
    void awaitDispatched(long oplogs) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        synchronized (dispatched) {
            while (dispatched[0] < oplogs) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    throw new AssertionError("the engine dispatched " + dispatched[0] + " oplogs, not " + oplogs);
                }
                try {
                    dispatched.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
        }
    }

    String token(String deviceId, String userId) {
        return tokens.mint(deviceId, userId, 3600);
    }

    /** Writes these bytes as the client would: one read of the socket. */
    static void send(EmbeddedChannel channel, byte[] bytes) {
        channel.writeInbound(Unpooled.wrappedBuffer(bytes));
        channel.runPendingTasks();
    }

    /** Every frame the server has written so far, decoded. */
    static List<ServerFrame> received(EmbeddedChannel channel) {
        channel.runPendingTasks();
        List<ServerFrame> frames = new ArrayList<>();
        for (Object out; (out = channel.readOutbound()) != null; ) {
            ByteBuf buf = (ByteBuf) out;
            try {
                ByteArrayInputStream in = new ByteArrayInputStream(ByteBufUtil.getBytes(buf));
                while (in.available() > 0) {
                    frames.add(ServerFrame.parseFrom(Frames.read(in, Frames.DEFAULT_MAX_FRAME_BYTES)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                buf.release();
            }
        }
        return frames;
    }

    static byte[] hex(String hex) {
        return ByteBufUtil.decodeHexDump(hex.replace(" ", ""));
    }

    @Override
    public void close() {
        engine.close();
        store.close();
    }
}
