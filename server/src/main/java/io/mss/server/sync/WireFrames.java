package io.mss.server.sync;

import io.mss.protocol.Frames;
import io.mss.protocol.v1.BizBatch;
import io.mss.protocol.v1.Command;
import io.mss.protocol.v1.CommandType;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncData;
import io.mss.server.store.Oplog;
import io.mss.server.store.Scope;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * The wire mapping of what sessions send: stored oplogs and scopes as protocol messages, and
 * the SyncData and FULL_UPDATE frames built from them. Only builds messages; it writes nothing.
 *
 * <p>Threading: static and stateless, called from any thread (the sessions' event loops, the
 * store's commit thread in {@link Dispatcher}, pushing threads for ephemeral pushes).
 */
final class WireFrames {
    private WireFrames() {
    }

    /**
     * An upper estimate of what {@code oplog} takes in a frame, what the frame budgets count (a
     * huge id with a payload of 3-byte chars can exceed it by a byte: the halved frame cap absorbs that).
     */
    static long estimatedBytes(Oplog oplog) {
        // UTF-8 takes at most 3 bytes per char of a Java string; plus id, time and tags
        return oplog.payload().length() * 3L + 24;
    }

    static BizBatch.Builder batchFor(Scope scope, long epoch) {
        return BizBatch.newBuilder().setBizType(scope.bizType()).setScope(kindOf(scope.kind())).setEpoch(epoch);
    }

    static io.mss.protocol.v1.Oplog toWire(Oplog oplog) {
        return io.mss.protocol.v1.Oplog.newBuilder()
                .setId(oplog.id())
                .setPayload(oplog.payload())
                .setCreatedAt(oplog.createdAt())
                .build();
    }

    static ScopeKind kindOf(Scope.Kind kind) {
        return switch (kind) {
            case USER -> ScopeKind.USER;
            case DEVICE -> ScopeKind.DEVICE;
            case GLOBAL -> ScopeKind.GLOBAL;
        };
    }

    /** A SyncData frame of one batch, encoded once for every session it is written to. */
    static ByteBuf encoded(BizBatch.Builder batch) {
        return Unpooled.wrappedBuffer(Frames.encode(ServerFrame.newBuilder()
                .setSyncData(SyncData.newBuilder().addBatches(batch)).build()));
    }

    static ServerFrame syncData(SyncData.Builder data) {
        return ServerFrame.newBuilder().setSyncData(data).build();
    }

    /**
     * FULL_UPDATE for the cursor's scope, on its epoch.
     *
     * @param restart whether the client's position is not on the cursor's timeline and it starts over
     */
    static ServerFrame fullUpdate(Cursor cursor, boolean restart, String detail) {
        return ServerFrame.newBuilder().setCommand(Command.newBuilder()
                .setType(CommandType.FULL_UPDATE)
                .setBizType(cursor.bizType.id())
                .setScope(kindOf(cursor.scope.kind()))
                .setEpoch(cursor.epoch)
                .setRestart(restart)
                .setDetail(detail)).build();
    }
}
