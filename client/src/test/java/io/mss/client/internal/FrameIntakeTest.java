package io.mss.client.internal;

import io.mss.client.MessageCallback;
import io.mss.client.Scope;
import io.mss.client.SyncMessage;
import io.mss.client.internal.proto.Ack;
import io.mss.client.internal.proto.BizBatch;
import io.mss.client.internal.proto.Hello;
import io.mss.client.internal.proto.Oplog;
import io.mss.client.internal.proto.ScopeKind;
import io.mss.client.internal.proto.ServerFrame;
import io.mss.client.internal.proto.SyncData;
import io.mss.client.internal.proto.Welcome;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The frame intake over a real inbox and sync point file, a real state thread, ack flusher and
 * delivery pump, without a server: frames are put in a connection's inbound queue as its reader
 * would. What it takes is stored, and acked without waiting for the app; while the app is
 * {@link FrameIntake#MAX_UNDELIVERED} messages behind, frames stay in the queue (so the reader
 * blocks and TCP slows the server) until the app is less than half of that behind.
 */
class FrameIntakeTest {
    private static final int PER_FRAME = 1_000;
    @TempDir
    File dir;

    final ExecutorService callbackThread = Executors.newSingleThreadExecutor();
    final StateLoop loop = new StateLoop("test-state", callbackThread);
    final AtomicBoolean closing = new AtomicBoolean();
    final Map<String, MessageCallback> callbacks = new ConcurrentHashMap<>();
    final List<Long> delivered = new CopyOnWriteArrayList<>();
    final List<Ack> acksSent = new CopyOnWriteArrayList<>();
    final List<String> lost = new CopyOnWriteArrayList<>();
    /** The app acks one message per permit: a slow app, as slow as the test wants. */
    final Semaphore appMayAck = new Semaphore(0);
    final Connection c = OnStateThread.welcomed("ivy", 2);
    Inbox inbox;
    SyncPointStore store;
    FrameIntake intake;
    DeliveryPump pump;

    @BeforeEach
    void start() throws Exception {
        inbox = Inbox.open(new File(dir, "inbox"));
        store = SyncPointStore.open(new File(dir, "points"));
        ClientConfig config = OnStateThread.offlineConfig();
        config.ackTimeoutMillis = 60_000;
        UserSwitch users = new UserSwitch(loop, (reason, changed) -> { });
        users.request("ivy", "");
        intake = new FrameIntake(loop, inbox, store, callbacks, users, closing::get);
        AckFlusher acks = OnStateThread.flusher(loop, store, () -> c, acksSent);
        pump = new DeliveryPump(loop, inbox, config, callbacks, users, closing::get, intake::resume);
        UpstreamRequests upstream = new UpstreamRequests(loop, 10_000, callbackThread, (to, frame) -> { });
        // never started: FULL_UPDATE handling is FullUpdatesTest's; here it only has to exist
        ConnectionManager unused = OnStateThread.neverStarted(loop, config, closing::get, intake);
        FullUpdates fullUpdates = new FullUpdates(loop, inbox, store, callbacks, closing::get, unused, acks, pump,
                intake::resume);
        intake.wire(new ConnectionControl() {
            @Override
            public Connection current() {
                return c;
            }

            @Override
            public void welcomed(Connection to, Welcome w) {
            }

            @Override
            public void lost(Connection to, String reason, boolean fatal) {
                lost.add(reason);
            }

            @Override
            public void refused(Connection to, String reason, boolean retry, String serverErrorCode) {
                lost.add(reason);
            }
        }, acks, pump, upstream, fullUpdates);
        callbacks.put("ORDER", new MessageCallback() {
            @Override
            public void onMessage(SyncMessage message) {
                try {
                    if (!appMayAck.tryAcquire(60, TimeUnit.SECONDS)) {
                        return; // the test is over; never acked
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                delivered.add(message.id());
                pump.reportAcked(message);
            }
        });
    }

    @AfterEach
    void stop() throws Exception {
        appMayAck.release(1_000_000);
        closing.set(true);
        OnStateThread.shutDown(loop, pump, inbox, callbackThread);
    }

    /** A SyncData frame of ORDER for ivy, epoch 7, ids {@code from} to {@code from + count - 1}. */
    static ServerFrame frame(long from, int count) {
        BizBatch.Builder batch = BizBatch.newBuilder().setBizType("ORDER").setScope(ScopeKind.USER).setEpoch(7);
        for (long id = from; id < from + count; id++) {
            batch.addOplogs(Oplog.newBuilder().setId(id).setPayload("order " + id).setCreatedAt(1));
        }
        return ServerFrame.newBuilder().setSyncData(SyncData.newBuilder().addBatches(batch)).build();
    }

    /** Queues frames as the reader does (it blocks when the queue is full: here the test stops). */
    void readerQueues(ServerFrame... frames) throws Exception {
        for (ServerFrame frame : frames) {
            assertThat(c.inbound.offer(new Connection.Inbound(frame, frame.getSerializedSize())))
                    .as("room in the reader's queue").isTrue();
        }
        OnStateThread.run(loop, () -> intake.framesQueued(c));
    }

    Long storedSyncPoint() throws Exception {
        return OnStateThread.call(loop, () -> store.get(new ScopeKey("ORDER", Scope.USER, "ivy")));
    }

    @Test
    void framesAreStoredAndAckedWithoutWaitingForTheAppThenDeliveredInOrder() throws Exception {
        readerQueues(frame(1, 3), frame(4, 2));
        assertThat(c.inbound).isEmpty();
        assertThat(storedSyncPoint()).as("raised from the inbox's own record").isEqualTo(5L);
        await().atMost(Duration.ofSeconds(10)).until(() -> !acksSent.isEmpty());
        assertThat(acksSent.get(acksSent.size() - 1).getSyncPoints(0).getId()).isEqualTo(5);
        assertThat(delivered).as("the app has not acked anything yet").isEmpty();

        appMayAck.release(5);
        await().atMost(Duration.ofSeconds(10)).until(() -> delivered.size() == 5);
        assertThat(delivered).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(lost).isEmpty();
    }

    @Test
    void aSlowAppLeavesFramesInTheReadersQueueUntilItIsLessThanHalfTheBudgetBehind() throws Exception {
        int budget = FrameIntake.MAX_UNDELIVERED;
        for (int i = 0; i < budget / PER_FRAME; i++) {
            readerQueues(frame(1 + (long) i * PER_FRAME, PER_FRAME));
        }
        // one more frame than the budget: it waits in the queue, neither stored nor acked
        ServerFrame beyond = frame(1 + (long) budget, PER_FRAME);
        readerQueues(beyond);
        assertThat(c.inbound).extracting(i -> i.frame).containsExactly(beyond);
        assertThat(storedSyncPoint()).isEqualTo((long) budget);
        assertThat(pending()).isEqualTo(budget);

        // exactly half the budget behind: still waiting
        appMayAck.release(budget / 2);
        await().atMost(Duration.ofSeconds(60)).until(() -> pending() == budget / 2);
        assertThat(c.inbound).extracting(i -> i.frame).as("half behind is not less than half")
                .containsExactly(beyond);
        // one more acked: taken
        appMayAck.release(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> c.inbound.isEmpty());
        assertThat(storedSyncPoint()).isEqualTo((long) budget + PER_FRAME);

        appMayAck.release(budget);
        await().atMost(Duration.ofSeconds(60)).until(() -> delivered.size() == budget + PER_FRAME);
        for (int i = 0; i < delivered.size(); i++) {
            assertThat(delivered.get(i)).isEqualTo(i + 1L);
        }
        assertThat(lost).isEmpty();
    }

    int pending() throws Exception {
        return OnStateThread.call(loop, () -> inbox.pendingCount());
    }

    @Test
    void syncDataBeforeTheWelcomeDropsTheConnection() throws Exception {
        c.welcomed = false;
        readerQueues(frame(1, 1));
        assertThat(lost).containsExactly("protocol violation: SyncData before Welcome");
        assertThat(storedSyncPoint()).as("nothing stored").isNull();
    }

    @Test
    void theHelloCarriesTheStoredSyncPointsWithTheirEpochs() throws Exception {
        readerQueues(frame(1, 2));
        Hello.Builder hello = Hello.newBuilder();
        OnStateThread.run(loop, () -> intake.hello(c, hello));
        assertThat(hello.getBizTypesList()).containsExactly("ORDER");
        assertThat(hello.getSyncPointsList()).hasSize(1);
        assertThat(hello.getSyncPoints(0).getId()).isEqualTo(2);
        assertThat(hello.getSyncPoints(0).getEpoch()).isEqualTo(7);
    }
}
