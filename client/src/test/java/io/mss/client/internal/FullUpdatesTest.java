package io.mss.client.internal;

import io.mss.client.FullUpdate;
import io.mss.client.MessageCallback;
import io.mss.client.Scope;
import io.mss.client.SyncMessage;
import io.mss.client.internal.proto.Command;
import io.mss.client.internal.proto.CommandType;
import io.mss.client.internal.proto.Hello;
import io.mss.client.internal.proto.ScopeKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * FULL_UPDATE on the client, over a real inbox and sync point file on disk and a real state thread:
 * a restart drops the scope's undispatched messages and starts its sync point over, a gap drops
 * nothing, and a bizType without a callback yet is told once one is registered.
 */
class FullUpdatesTest {
    static final ScopeKey IVYS = ScopeKey.user("ORDER", "ivy");
    static final ScopeKey DEVICE = ScopeKey.device("ORDER");

    @TempDir
    File dir;

    final ExecutorService callbackThread = Executors.newSingleThreadExecutor();
    final StateLoop loop = new StateLoop("test-state", callbackThread);
    final AtomicBoolean closing = new AtomicBoolean();
    final Map<String, MessageCallback> callbacks = new ConcurrentHashMap<>();
    final List<FullUpdate> told = new CopyOnWriteArrayList<>();
    final MessageCallback recording = new MessageCallback() {
        @Override
        public void onMessage(SyncMessage message) {
        }

        @Override
        public void onFullUpdate(FullUpdate update) {
            told.add(update);
        }
    };
    Inbox inbox;
    SyncPointStore store;
    FullUpdates fullUpdates;
    Connection session = OnStateThread.welcomed("ivy", 2);

    @BeforeEach
    void start() throws Exception {
        inbox = Inbox.open(new File(dir, "inbox"));
        store = SyncPointStore.open(new File(dir, "points"));
        ClientConfig config = OnStateThread.offlineConfig();
        UserSwitch users = new UserSwitch(loop, (reason, changed) -> { });
        users.request("ivy", "");
        // never started: a restart only tells it to drop a connection when the inbox cannot be written
        ConnectionManager connections = OnStateThread.neverStarted(loop, config, closing::get,
                new ConnectionManager.Session() {
                    @Override
                    public void hello(Connection c, Hello.Builder hello) {
                    }

                    @Override
                    public void welcomed(Connection c) {
                    }

                    @Override
                    public void framesQueued(Connection c) {
                    }

                    @Override
                    public void ended(Connection c) {
                    }
                });
        AckFlusher acks = OnStateThread.flusher(loop, store, () -> session, new java.util.ArrayList<>());
        DeliveryPump pump = new DeliveryPump(loop, inbox, config, callbacks, users, closing::get, () -> { });
        fullUpdates = new FullUpdates(loop, inbox, store, callbacks, closing::get, connections, acks, pump, () -> { });
        OnStateThread.run(loop, () -> {
            try {
                inbox.store(java.util.Arrays.asList(order(Scope.USER, 1, 7), order(Scope.USER, 2, 7),
                        order(Scope.DEVICE, 1, 9)));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            store.put(IVYS, 7, 5);
            store.put(DEVICE, 9, 3);
        });
    }

    @AfterEach
    void stop() throws Exception {
        closing.set(true);
        OnStateThread.shutDown(loop, null, inbox, callbackThread);
    }

    static SyncMessage order(Scope scope, long id, long epoch) {
        return SyncMessage.builder().bizType("ORDER").scope(scope).id(id).epoch(epoch)
                .userId(scope == Scope.USER ? "ivy" : null).payload("order " + id).build();
    }

    static Command fullUpdate(ScopeKind scope, long epoch, boolean restart) {
        return Command.newBuilder().setType(CommandType.FULL_UPDATE).setBizType("ORDER").setScope(scope)
                .setEpoch(epoch).setRestart(restart).setDetail("test").build();
    }

    @Test
    void aRestartDropsTheScopesUndispatchedMessagesAndStartsItsSyncPointOver() throws Exception {
        callbacks.put("ORDER", recording);
        OnStateThread.run(loop, () -> fullUpdates.command(session, fullUpdate(ScopeKind.USER, 8, true)));
        await().until(() -> told.size() == 1);
        assertThat(told.get(0)).isEqualTo(new FullUpdate("ORDER", Scope.USER, 8, true, "test"));
        assertThat(OnStateThread.call(loop, () -> inbox.pending(IVYS))).isEmpty();
        assertThat(OnStateThread.call(loop, () -> store.epoch(IVYS) + "/" + store.get(IVYS))).isEqualTo("8/0");
        // the other scope of the bizType is untouched
        assertThat(OnStateThread.call(loop, () -> inbox.pending(DEVICE))).extracting(SyncMessage::id).containsExactly(1L);
        assertThat(OnStateThread.call(loop, () -> store.epoch(DEVICE) + "/" + store.get(DEVICE))).isEqualTo("9/3");

        // durably: a client started again on the same directory holds nothing of the old timeline
        OnStateThread.run(loop, () -> {
            try {
                inbox.close();
                inbox = Inbox.open(new File(dir, "inbox"));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertThat(OnStateThread.call(loop, () -> inbox.pending(IVYS))).isEmpty();
        assertThat(OnStateThread.call(loop, () -> inbox.epoch(IVYS))).isEqualTo(8);
    }

    @Test
    void aGapDropsNothingAndKeepsTheSyncPoint() throws Exception {
        callbacks.put("ORDER", recording);
        OnStateThread.run(loop, () -> fullUpdates.command(session, fullUpdate(ScopeKind.USER, 7, false)));
        await().until(() -> told.size() == 1);
        assertThat(told.get(0).restart()).isFalse();
        assertThat(OnStateThread.call(loop, () -> inbox.pending(IVYS))).extracting(SyncMessage::id).containsExactly(1L, 2L);
        assertThat(OnStateThread.call(loop, () -> store.epoch(IVYS) + "/" + store.get(IVYS))).isEqualTo("7/5");
    }

    @Test
    void aVersionOneServerHasNoRestartsAndNoEpochs() throws Exception {
        callbacks.put("ORDER", recording);
        Connection v1 = OnStateThread.welcomed("ivy", 1);
        OnStateThread.run(loop, () -> fullUpdates.command(v1, fullUpdate(ScopeKind.USER, 8, true)));
        await().until(() -> told.size() == 1);
        assertThat(told.get(0)).extracting(FullUpdate::restart, FullUpdate::epoch).containsExactly(false, 0L);
        assertThat(OnStateThread.call(loop, () -> inbox.pending(IVYS))).hasSize(2);
    }

    @Test
    void withoutACallbackTheRestartWaitsForOneAndALaterGapDoesNotHideIt() throws Exception {
        OnStateThread.run(loop, () -> {
            fullUpdates.command(session, fullUpdate(ScopeKind.USER, 8, true));
            fullUpdates.command(session, fullUpdate(ScopeKind.USER, 8, false));
        });
        // the restart itself happened at once; only telling the app waits
        assertThat(OnStateThread.call(loop, () -> inbox.pending(IVYS))).isEmpty();
        assertThat(told).isEmpty();
        OnStateThread.run(loop, () -> fullUpdates.registered("ORDER", recording));
        await().until(() -> told.size() == 1);
        assertThat(told.get(0).restart()).as("the restart, not the gap after it").isTrue();
        OnStateThread.run(loop, () -> fullUpdates.registered("ORDER", recording));
        Thread.sleep(100);
        assertThat(told).as("told once").hasSize(1);
    }
}
