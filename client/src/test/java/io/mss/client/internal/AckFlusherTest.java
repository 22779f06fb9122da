package io.mss.client.internal;

import io.mss.client.Scope;
import io.mss.client.internal.proto.Ack;
import io.mss.client.internal.proto.SyncPoint;
import io.mss.protocol.ProtocolVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/** The ack flusher on a real state thread and a real sync point store, without a server. */
class AckFlusherTest {
    @TempDir
    File dir;

    final StateLoop loop = new StateLoop("test-state", Runnable::run);
    final List<Ack> sent = new CopyOnWriteArrayList<>();
    Connection session = OnStateThread.welcomed("ivy", ProtocolVersion.MAX);

    static final ScopeKey ORDERS = ScopeKey.user("ORDER", "ivy");
    static final ScopeKey NEWS = new ScopeKey("NEWS", Scope.GLOBAL, "");
    static final ScopeKey JAYS = ScopeKey.user("ORDER", "jay");

    @AfterEach
    void stop() {
        loop.shutdown();
    }

    AckFlusher flusher(SyncPointStore store) {
        return OnStateThread.flusher(loop, store, () -> session, sent);
    }

    @Test
    void movesQueuedBehindOneAnotherGoOutAsOneAck() throws Exception {
        SyncPointStore store = SyncPointStore.open(dir);
        AckFlusher flusher = flusher(store);
        OnStateThread.run(loop, () -> {
            store.put(ORDERS, 7, 10);
            flusher.moved(ORDERS);
            flusher.queueFlush();
            store.put(NEWS, 3, 4);
            flusher.moved(NEWS);
            store.put(ORDERS, 7, 12);
            flusher.moved(ORDERS);
            flusher.queueFlush();
        });
        // the flush task was queued behind the step above: it has run once this one runs
        OnStateThread.run(loop, () -> { });
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0).getSyncPointsList()).extracting(SyncPoint::getBizType, SyncPoint::getId,
                SyncPoint::getEpoch).containsExactly(tuple("NEWS", 4L, 3L), tuple("ORDER", 12L, 7L));
        OnStateThread.run(loop, flusher::flush);
        assertThat(sent).as("nothing moved since").hasSize(1);
    }

    @Test
    void anotherUsersScopesWaitForThatUsersHelloAndVersionOneGetsNoEpochs() throws Exception {
        SyncPointStore store = SyncPointStore.open(dir);
        AckFlusher flusher = flusher(store);
        Ack ack = OnStateThread.call(loop, () -> {
            store.put(ORDERS, 7, 10);
            store.put(JAYS, 8, 3);
            flusher.moved(ORDERS);
            flusher.moved(JAYS);
            return flusher.takeAck("ivy", false);
        });
        assertThat(ack.getSyncPointsList()).extracting(SyncPoint::getId, SyncPoint::getEpoch)
                .containsExactly(tuple(10L, 0L));
    }

    @Test
    void aHelloCarriesEverythingSoNothingIsUnsentAfterIt() throws Exception {
        SyncPointStore store = SyncPointStore.open(dir);
        AckFlusher flusher = flusher(store);
        OnStateThread.run(loop, () -> {
            store.put(ORDERS, 7, 10);
            flusher.moved(ORDERS);
            flusher.helloSent();
            flusher.flush();
        });
        assertThat(sent).isEmpty();
    }

    @Test
    void withoutAWelcomedConnectionTheMovesWaitForTheNextOne() throws Exception {
        SyncPointStore store = SyncPointStore.open(dir);
        AckFlusher flusher = flusher(store);
        session = null;
        OnStateThread.run(loop, () -> {
            store.put(ORDERS, 7, 10);
            flusher.moved(ORDERS);
            flusher.flush();
        });
        assertThat(sent).isEmpty();
        session = OnStateThread.welcomed("ivy", ProtocolVersion.MAX);
        OnStateThread.run(loop, flusher::flush);
        assertThat(sent).hasSize(1);
    }

    @Test
    void closeWritesTheCheckpointFile() throws Exception {
        SyncPointStore store = SyncPointStore.open(dir);
        AckFlusher flusher = flusher(store);
        OnStateThread.run(loop, () -> {
            store.put(ORDERS, 7, 10);
            flusher.moved(ORDERS);
            flusher.close();
        });
        assertThat(SyncPointStore.open(dir).get(ORDERS)).isEqualTo(10L);
    }

    @Test
    void offTheStateThreadItRefuses() throws Exception {
        AckFlusher flusher = flusher(SyncPointStore.open(dir));
        assertThatThrownBy(() -> flusher.moved(ORDERS)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not on its state thread");
    }
}
