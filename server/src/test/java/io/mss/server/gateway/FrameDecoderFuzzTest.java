package io.mss.server.gateway;

import io.mss.protocol.Frames;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Ping;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.SyncPoint;
import io.mss.protocol.v1.UpstreamMessage;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Differential fuzzing of the Netty frame decoder against the blocking reader in the protocol
 * module: random and mutated byte streams, cut into random chunks, must decode to exactly the
 * frames the reference decodes, and the first malformed frame must become one failure after
 * which nothing else comes out. Seeded, so a failure names its seed and replays.
 * {@code -Dmss.fuzz.iterations=N} runs longer (default 1,000).
 */
class FrameDecoderFuzzTest {
    private static final int CAP = 4096;
    private static final int ITERATIONS = Integer.getInteger("mss.fuzz.iterations", 1_000);

    @Test
    void nettyDecoderAgreesWithTheReferenceOnRandomAndMutatedStreams() {
        long base = Long.getLong("mss.fuzz.seed", 20261126L);
        for (int i = 0; i < ITERATIONS; i++) {
            long seed = base + i;
            SplittableRandom random = new SplittableRandom(seed);
            byte[] stream = random.nextInt(4) == 0 ? randomBytes(random) : mutated(validStream(random), random);
            try {
                check(stream, random);
            } catch (AssertionError e) {
                throw new AssertionError("seed " + seed + " (replay with -Dmss.fuzz.seed=" + seed
                        + " -Dmss.fuzz.iterations=1): " + e.getMessage(), e);
            }
        }
    }

    private static void check(byte[] stream, SplittableRandom random) {
        Reference expected = reference(stream);
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(CAP));
        int offset = 0;
        while (offset < stream.length) {
            int chunk = Math.min(stream.length - offset, 1 + random.nextInt(64));
            channel.writeInbound(Unpooled.wrappedBuffer(stream, offset, chunk));
            offset += chunk;
        }
        List<ClientFrame> frames = new ArrayList<>();
        FrameDecodeFailure failure = null;
        for (Object out; (out = channel.readInbound()) != null; ) {
            assertThat(failure).as("nothing may follow a failure").isNull();
            if (out instanceof FrameDecodeFailure f) {
                failure = f;
            } else {
                frames.add((ClientFrame) out);
            }
        }
        channel.finishAndReleaseAll();
        assertThat(frames).isEqualTo(expected.frames);
        assertThat(failure != null).as("failure expected: " + expected.failed).isEqualTo(expected.failed);
    }

    /** What the blocking reader makes of the stream: the frames before the first bad one. */
    private record Reference(List<ClientFrame> frames, boolean failed) {
    }

    private static Reference reference(byte[] stream) {
        List<ClientFrame> frames = new ArrayList<>();
        InputStream in = new ByteArrayInputStream(stream);
        try {
            while (true) {
                byte[] body = Frames.read(in, CAP);
                if (body == null) {
                    return new Reference(frames, false);
                }
                frames.add(ClientFrame.parseFrom(body));
            }
        } catch (java.io.EOFException truncated) {
            // a stream that ends inside a frame is incomplete, not malformed: the decoder waits
            return new Reference(frames, false);
        } catch (IOException malformed) {
            return new Reference(frames, true);
        }
    }

    private static byte[] validStream(SplittableRandom random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int count = 1 + random.nextInt(5);
        for (int i = 0; i < count; i++) {
            ClientFrame frame = switch (random.nextInt(4)) {
                case 0 -> ClientFrame.newBuilder().setHello(Hello.newBuilder().setMinVersion(1).setMaxVersion(1)
                        .setToken("t" + random.nextLong()).setDeviceId("d" + random.nextInt(100))
                        .addBizTypes("ORDER").addSyncPoints(SyncPoint.newBuilder().setBizType("ORDER")
                                .setScope(ScopeKind.USER).setId(random.nextLong(1_000_000)))).build();
                case 1 -> ClientFrame.newBuilder().setAck(Ack.newBuilder().addSyncPoints(SyncPoint.newBuilder()
                        .setBizType("B" + random.nextInt(10)).setScope(ScopeKind.GLOBAL).setId(random.nextInt()))).build();
                case 2 -> ClientFrame.newBuilder().setUpstream(UpstreamMessage.newBuilder()
                        .setClientMsgId("m" + random.nextInt()).setBizType("ORDER").setPayload("x".repeat(random.nextInt(3000)))).build();
                default -> ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(random.nextLong())).build();
            };
            out.writeBytes(Frames.encode(frame));
        }
        return out.toByteArray();
    }

    private static byte[] mutated(byte[] stream, SplittableRandom random) {
        byte[] bytes = stream.clone();
        int mutations = random.nextInt(4);
        for (int m = 0; m < mutations && bytes.length > 0; m++) {
            switch (random.nextInt(4)) {
                case 0 -> bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
                case 1 -> bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
                case 2 -> bytes = java.util.Arrays.copyOf(bytes, random.nextInt(bytes.length));
                default -> {
                    // a huge length prefix in front of the rest
                    byte[] prefixed = new byte[bytes.length + 3];
                    prefixed[0] = (byte) 0xFF;
                    prefixed[1] = (byte) 0xFF;
                    prefixed[2] = (byte) random.nextInt(1, 128);
                    System.arraycopy(bytes, 0, prefixed, 3, bytes.length);
                    bytes = prefixed;
                }
            }
        }
        return bytes;
    }

    private static byte[] randomBytes(SplittableRandom random) {
        byte[] bytes = new byte[random.nextInt(200)];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) random.nextInt(256);
        }
        return bytes;
    }
}
