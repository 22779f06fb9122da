package io.mss.bench.jmh;

import com.google.protobuf.InvalidProtocolBufferException;
import io.mss.protocol.Frames;
import io.mss.protocol.v1.BizBatch;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncData;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** Encoding and decoding one SyncData frame (varint length + protobuf), as the gateway and the SDK do. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class FrameCodecBenchmark {
    /** Oplogs in the frame: one live push, or a catch-up frame. */
    @Param({"1", "100"})
    int oplogs;

    private ServerFrame frame;
    private byte[] encoded;

    @Setup
    public void setUp() {
        BizBatch.Builder batch = BizBatch.newBuilder().setBizType("ORDER-STATUS").setScope(ScopeKind.USER);
        for (int i = 0; i < oplogs; i++) {
            batch.addOplogs(Oplog.newBuilder().setId(1000 + i).setCreatedAt(1_700_000_000_000L + i)
                    .setPayload("{\"orderId\":\"" + (42_000 + i) + "\",\"status\":\"SHIPPED\",\"eta\":\"2026-11-27\"}"));
        }
        frame = ServerFrame.newBuilder().setSyncData(SyncData.newBuilder().addBatches(batch)).build();
        encoded = Frames.encode(frame);
    }

    @Benchmark
    public byte[] encode() {
        return Frames.encode(frame);
    }

    @Benchmark
    public ServerFrame decode() throws IOException, InvalidProtocolBufferException {
        byte[] body = Frames.read(new ByteArrayInputStream(encoded), Frames.DEFAULT_MAX_FRAME_BYTES);
        return ServerFrame.parseFrom(body);
    }
}
