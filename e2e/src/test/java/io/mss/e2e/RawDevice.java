package io.mss.e2e;

import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.BizBatch;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.Command;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import io.mss.protocol.v1.Welcome;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A device speaking the protocol by hand, frame by frame: for what the SDK would never send
 * (acks far above the head, made-up epochs, version 1 Hellos) and for asserting the exact
 * frames the server answers with.
 */
final class RawDevice implements AutoCloseable {
    final RawConnection connection;
    final Welcome welcome;
    /** Every Command and durable or ephemeral batch received, in order. */
    final List<ServerFrame> frames = new ArrayList<>();

    private RawDevice(RawConnection connection, Welcome welcome) {
        this.connection = connection;
        this.welcome = welcome;
    }

    static SyncPoint point(String bizType, ScopeKind scope, long epoch, long id) {
        return SyncPoint.newBuilder().setBizType(bizType).setScope(scope).setEpoch(epoch).setId(id).build();
    }

    /** Connects, says Hello with {@code maxVersion} and the given sync points, and reads Welcome. */
    static RawDevice connect(int port, Path cert, String token, String deviceId, int maxVersion,
                             List<String> bizTypes, List<SyncPoint> points) throws Exception {
        RawConnection connection = new RawConnection(port, cert);
        connection.send(ClientFrame.newBuilder().setHello(Hello.newBuilder()
                .setMinVersion(1).setMaxVersion(maxVersion).setToken(token).setDeviceId(deviceId)
                .addAllBizTypes(bizTypes).addAllSyncPoints(points)).build());
        ServerFrame first = connection.read();
        if (first == null || !first.hasWelcome()) {
            connection.close();
            throw new IllegalStateException("no Welcome but " + first);
        }
        return new RawDevice(connection, first.getWelcome());
    }

    /** Reads frames until the catch-up's last SyncData (has_more = false); returns what came. */
    List<ServerFrame> catchUp() throws IOException {
        List<ServerFrame> got = new ArrayList<>();
        while (true) {
            ServerFrame frame = next();
            got.add(frame);
            if (frame.hasSyncData() && !frame.getSyncData().getHasMore()) {
                return got;
            }
        }
    }

    /** The next Command or SyncData (Pongs skipped); fails when the server closes or stays silent 10 s. */
    ServerFrame next() throws IOException {
        while (true) {
            ServerFrame frame = connection.read();
            if (frame == null) {
                throw new IOException("the server closed the connection; frames so far: " + frames);
            }
            if (frame.hasError()) {
                throw new IOException("server error " + frame.getError());
            }
            if (frame.hasCommand() || frame.hasSyncData()) {
                frames.add(frame);
                return frame;
            }
        }
    }

    /** Reads until {@code count} durable oplogs arrived in total in the frames returned; returns those frames. */
    List<ServerFrame> untilOplogs(int count) throws IOException {
        List<ServerFrame> got = new ArrayList<>();
        while (oplogs(got).size() < count) {
            got.add(next());
        }
        return got;
    }

    /**
     * Sends a Ping and reads up to its Pong: the server has handled every frame sent before.
     * Commands and batches read meanwhile are kept in {@link #frames}.
     */
    void roundTrip() throws IOException {
        long stamp = System.nanoTime();
        connection.send(ClientFrame.newBuilder().setPing(io.mss.protocol.v1.Ping.newBuilder().setTimestamp(stamp))
                .build());
        while (true) {
            ServerFrame frame = connection.read();
            if (frame == null) {
                throw new IOException("the server closed the connection; frames so far: " + frames);
            }
            if (frame.hasPong() && frame.getPong().getTimestamp() == stamp) {
                return;
            }
            if (frame.hasCommand() || frame.hasSyncData()) {
                frames.add(frame);
            }
        }
    }

    void ack(String bizType, ScopeKind scope, long epoch, long id) throws IOException {
        connection.send(ClientFrame.newBuilder().setAck(Ack.newBuilder()
                .addSyncPoints(point(bizType, scope, epoch, id))).build());
    }

    /** The durable oplogs in these frames, in order. */
    static List<Oplog> oplogs(List<ServerFrame> frames) {
        List<Oplog> oplogs = new ArrayList<>();
        for (BizBatch batch : batches(frames)) {
            if (!batch.getEphemeral()) {
                oplogs.addAll(batch.getOplogsList());
            }
        }
        return oplogs;
    }

    static List<BizBatch> batches(List<ServerFrame> frames) {
        List<BizBatch> batches = new ArrayList<>();
        for (ServerFrame frame : frames) {
            if (frame.hasSyncData()) {
                batches.addAll(frame.getSyncData().getBatchesList());
            }
        }
        return batches;
    }

    static List<Command> commands(List<ServerFrame> frames) {
        List<Command> commands = new ArrayList<>();
        for (ServerFrame frame : frames) {
            if (frame.hasCommand()) {
                commands.add(frame.getCommand());
            }
        }
        return commands;
    }

    static List<Long> ids(List<ServerFrame> frames) {
        return oplogs(frames).stream().map(Oplog::getId).toList();
    }

    @Override
    public void close() throws IOException {
        connection.close();
    }
}
