package io.mss.server.store.rocksdb;

import io.mss.server.store.AppendRequest;
import io.mss.server.store.AppendResult;
import io.mss.server.store.Oplog;
import io.mss.server.store.OplogStoreContract;
import io.mss.server.store.StoreException;

import org.junit.jupiter.api.Test;
import org.rocksdb.RocksDBException;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class RocksDbStoreTest extends OplogStoreContract<RocksDbStore> {

    @Override
    protected RocksDbStore open(Path dir) {
        return RocksDbStore.open(dir, RocksDbStore.Options.defaults());
    }

    private void reopenWith(RocksDbStore.Options options, UnaryOperator<BatchWriter> decorate) {
        store.close();
        store = RocksDbStore.open(dir, options, decorate);
    }

    /**
     * Holds the writer thread inside the write of its first batch, so that everything appended
     * meanwhile queues up and lands in the following batches; as a listener, records the batches.
     */
    private static final class WriterGate implements UnaryOperator<BatchWriter>, Consumer<List<Oplog>> {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch released = new CountDownLatch(1);
        final List<List<Oplog>> batches = new CopyOnWriteArrayList<>();

        @Override
        public BatchWriter apply(BatchWriter write) {
            return batch -> {
                if (entered.getCount() > 0) {
                    entered.countDown();
                    try {
                        released.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                write.write(batch);
            };
        }

        @Override
        public void accept(List<Oplog> oplogs) {
            batches.add(oplogs);
        }

        /** Appends one oplog and returns once the writer is held writing it. */
        CompletableFuture<AppendResult> hold(RocksDbStore store, AppendRequest request) {
            CompletableFuture<AppendResult> first = store.append(request);
            await().atMost(TIMEOUT).until(() -> entered.getCount() == 0);
            return first;
        }

        void release() {
            released.countDown();
        }

        int committedOplogs() {
            return batches.stream().mapToInt(List::size).sum();
        }
    }

    @Test
    void groupCommitPutsManyAppendsInOneBatch() {
        List<List<Oplog>> batches = new CopyOnWriteArrayList<>();
        store.onCommit(batches::add);
        List<CompletableFuture<AppendResult>> futures = new ArrayList<>();

        for (int i = 0; i < 5000; i++) {
            futures.add(store.append(request(i % 3 == 0 ? ALICE : BOB, "p" + i, null)));
        }
        futures.forEach(OplogStoreContract::completed);

        await().atMost(TIMEOUT).until(() -> batches.stream().mapToInt(List::size).sum() == 5000);
        assertThat(batches.size()).isLessThan(500);
        assertThat(batches).allSatisfy(batch -> assertThat(batch).hasSizeLessThanOrEqualTo(1024));
    }

    @Test
    void appendsQueuedWhileTheWriterIsBusyAreCommittedInBatchesOfAtMostMaxBatch() {
        WriterGate gate = new WriterGate();
        reopenWith(RocksDbStore.Options.defaults().withMaxBatch(100), gate);
        store.onCommit(gate);
        gate.hold(store, request(ALICE, "first", null));

        List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
        for (int i = 0; i < 4999; i++) {
            futures.add(store.append(request(BOB, "p" + i, null)));
        }
        gate.release();
        futures.forEach(OplogStoreContract::completed);

        await().atMost(TIMEOUT).until(() -> gate.committedOplogs() == 5000);
        // the held batch, then the 4999 queued ones in full batches of 100
        assertThat(gate.batches).hasSize(1 + 50);
        assertThat(gate.batches).allSatisfy(batch -> assertThat(batch).hasSizeLessThanOrEqualTo(100));
        assertThat(store.read(BOB, 0, 10_000)).extracting(Oplog::id).isSorted().hasSize(4999);
    }

    @Test
    void secondOfTwoEqualKeysInOneBatchIsADuplicateOfTheFirst() {
        WriterGate gate = new WriterGate();
        reopenWith(RocksDbStore.Options.defaults(), gate);
        store.onCommit(gate);
        gate.hold(store, request(BOB, "held", null));

        CompletableFuture<AppendResult> first = store.append(request(ALICE, "first", "m-1"));
        CompletableFuture<AppendResult> second = store.append(request(ALICE, "second", "m-1"));
        CompletableFuture<AppendResult> other = store.append(request(ALICE, "other", "m-2"));
        gate.release();

        assertThat(completed(first).duplicate()).isFalse();
        assertThat(completed(second)).isEqualTo(new AppendResult(completed(first).oplog(), true));
        assertThat(completed(other).oplog().id()).isEqualTo(2);
        await().atMost(TIMEOUT).until(() -> gate.batches.size() == 2);
        assertThat(gate.batches.get(1)).containsExactly(completed(first).oplog(), completed(other).oplog());
    }

    @Test
    void failedBatchStoresNothingFailsEveryAppendInItAndSkipsNoId() {
        AtomicBoolean failNextWrite = new AtomicBoolean();
        WriterGate gate = new WriterGate();
        reopenWith(RocksDbStore.Options.defaults(), durable -> {
            BatchWriter held = gate.apply(durable);
            return batch -> {
                if (failNextWrite.getAndSet(false)) {
                    throw new RocksDBException("injected: No space left on device");
                }
                held.write(batch);
            };
        });
        store.onCommit(gate);
        CompletableFuture<AppendResult> held = gate.hold(store, request(ALICE, "original", "m-0"));

        failNextWrite.set(true);
        List<CompletableFuture<AppendResult>> failed = List.of(
                store.append(request(ALICE, "new", "m-1")),
                store.append(request(ALICE, "duplicate of the new one", "m-1")),
                store.append(request(BOB, "other scope", null)),
                store.append(request(ALICE, "duplicate of a stored one", "m-0")));
        gate.release();
        Oplog original = completed(held).oplog();

        for (CompletableFuture<AppendResult> future : failed) {
            assertFailsWithStoreException(future);
        }
        assertThatThrownBy(() -> failed.get(0).join()).cause()
                .hasMessageContaining("could not store a batch of 4 oplog appends")
                .hasMessageContaining("No space left on device");
        assertThat(store.lastId(ALICE)).isEqualTo(1);
        assertThat(store.lastId(BOB)).isZero();

        AppendResult retried = append(ALICE, "new", "m-1");
        assertThat(retried.duplicate()).isFalse();
        assertThat(retried.oplog().id()).isEqualTo(2);
        assertThat(append(BOB, "other scope", null).oplog().id()).isEqualTo(1);
        assertThat(store.read(ALICE, 0, 10)).containsExactly(original, retried.oplog());
        await().atMost(TIMEOUT).until(() -> gate.committedOplogs() == 3);
        assertThat(gate.batches).flatExtracting(batch -> batch).extracting(Oplog::payload)
                .containsExactly("original", "new", "other scope");
    }

    /**
     * Holds the first fsync until released, so that what is written meanwhile can be looked at,
     * and counts the batches written.
     */
    private static final class SyncGate implements UnaryOperator<GroupCommitWriter.WalSync> {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch released = new CountDownLatch(1);
        final AtomicBoolean failFirst = new AtomicBoolean();
        final List<Integer> writes = new CopyOnWriteArrayList<>();

        /** Reopens the test's store with this gate on its fsyncs. */
        RocksDbStore reopen(RocksDbStore store, Path dir) {
            store.close();
            return RocksDbStore.open(dir, RocksDbStore.Options.defaults(), durable -> batch -> {
                durable.write(batch);
                writes.add(batch.count());
            }, this);
        }

        @Override
        public GroupCommitWriter.WalSync apply(GroupCommitWriter.WalSync sync) {
            return () -> {
                if (entered.getCount() > 0) {
                    entered.countDown();
                    released.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                    if (failFirst.get()) {
                        throw new RocksDBException("injected: Input/output error");
                    }
                }
                sync.sync();
            };
        }
    }

    @Test
    void theNextBatchIsWrittenWhileTheLastIsFsyncedAndNeitherIsSeenBeforeItIsDurable() {
        SyncGate syncGate = new SyncGate();
        store = syncGate.reopen(store, dir);
        List<Integer> writes = syncGate.writes;
        List<Oplog> delivered = new CopyOnWriteArrayList<>();
        store.onCommit(delivered::addAll);

        CompletableFuture<AppendResult> first = store.append(request(ALICE, "a1", null));
        await().atMost(TIMEOUT).until(() -> syncGate.entered.getCount() == 0);
        CompletableFuture<AppendResult> second = store.append(request(ALICE, "a2", null));
        CompletableFuture<AppendResult> other = store.append(request(BOB, "b1", null));
        // both later appends are in RocksDB while the first batch's fsync is still held
        await().atMost(TIMEOUT).until(() -> writes.size() == 2 || writes.size() == 3);

        assertThat(first).isNotDone();
        assertThat(second).isNotDone();
        assertThat(other).isNotDone();
        assertThat(delivered).isEmpty();
        assertThat(store.head(ALICE)).as("a scope whose first oplog is not durable has no timeline yet")
                .isEqualTo(io.mss.server.store.ScopeHead.NONE);
        assertThat(store.read(ALICE, 0, 10)).isEmpty();
        assertThat(store.lastId(BOB)).isZero();
        assertThat(store.read(BOB, 0, 10)).isEmpty();

        syncGate.released.countDown();
        assertThat(completed(first).oplog().id()).isEqualTo(1);
        assertThat(completed(second).oplog().id()).isEqualTo(2);
        assertThat(completed(other).oplog().id()).isEqualTo(1);
        assertThat(store.lastId(ALICE)).isEqualTo(2);
        assertThat(store.read(ALICE, 0, 10)).extracting(Oplog::payload).containsExactly("a1", "a2");
        assertThat(store.read(BOB, 0, 10)).extracting(Oplog::payload).containsExactly("b1");
        await().atMost(TIMEOUT).until(() -> delivered.size() == 3);
        assertThat(delivered).extracting(Oplog::payload).as("listeners are told in commit order, once durable")
                .containsExactly("a1", "a2", "b1");
    }

    @Test
    void aScopeDurableUpToOneIdIsReadUpToItWhileANewerBatchOfItIsFsynced() {
        append(ALICE, "durable", null);
        SyncGate syncGate = new SyncGate();
        store = syncGate.reopen(store, dir);

        CompletableFuture<AppendResult> pending = store.append(request(ALICE, "not yet", null));
        await().atMost(TIMEOUT).until(() -> syncGate.entered.getCount() == 0);
        assertThat(store.head(ALICE).lastId()).isEqualTo(1);
        assertThat(store.read(ALICE, 0, 10)).extracting(Oplog::payload).containsExactly("durable");
        assertThat(pending).isNotDone();

        syncGate.released.countDown();
        assertThat(completed(pending).oplog().id()).isEqualTo(2);
        assertThat(store.read(ALICE, 0, 10)).extracting(Oplog::payload).containsExactly("durable", "not yet");
    }

    @Test
    void aFailedFsyncFailsItsBatchKeepsItHiddenAndTheNextWriteReopensTheStore() {
        SyncGate syncGate = new SyncGate();
        syncGate.failFirst.set(true);
        store = syncGate.reopen(store, dir);
        List<Integer> writes = syncGate.writes;
        List<Oplog> delivered = new CopyOnWriteArrayList<>();
        store.onCommit(delivered::addAll);

        CompletableFuture<AppendResult> failed = store.append(request(ALICE, "lost?", "m-1"));
        await().atMost(TIMEOUT).until(() -> syncGate.entered.getCount() == 0);
        // written while the failing fsync is held; its own fsync then succeeds
        CompletableFuture<AppendResult> behind = store.append(request(ALICE, "behind it", "m-2"));
        await().atMost(TIMEOUT).until(() -> writes.size() == 2);
        syncGate.released.countDown();
        assertFailsWithStoreException(failed);
        assertThatThrownBy(failed::join).cause().hasMessageContaining("durable")
                .hasMessageContaining("Input/output error");
        assertFailsWithStoreException(behind);
        assertThatThrownBy(behind::join).as("a later fsync says nothing of the pages the failed one lost")
                .cause().hasMessageContaining("Input/output error");
        assertThat(delivered).isEmpty();
        assertThat(store.lastId(ALICE)).as("not shown before the store is read back from disk").isZero();
        assertThat(store.read(ALICE, 0, 10)).isEmpty();

        // the next write reopens the database from its log: what the disk kept is what counts
        AppendResult retried = append(ALICE, "lost?", "m-1");
        AppendResult next = append(ALICE, "next", null);
        List<Oplog> stored = store.read(ALICE, 0, 10);
        assertThat(stored).extracting(Oplog::payload).containsSubsequence("lost?", "next");
        assertThat(stored).extracting(Oplog::id).isSorted().doesNotHaveDuplicates();
        assertThat(retried.oplog().id()).isEqualTo(stored.get(0).id());
        assertThat(next.oplog().id()).isEqualTo(stored.get(stored.size() - 1).id()).isEqualTo(store.lastId(ALICE));
        // listeners are told after the futures complete
        await().atMost(TIMEOUT).until(() -> delivered.stream().anyMatch(oplog -> oplog.payload().equals("next")));
        assertThat(delivered).extracting(Oplog::payload).as("delivered once durable, never the failed batches")
                .endsWith("next").doesNotContain("behind it");
    }

    @Test
    void listenersRunOnTheSyncerThreadWhichSurvivesAFailingOne() {
        List<String> threads = new CopyOnWriteArrayList<>();
        store.onCommit(oplogs -> {
            throw new IllegalStateException("listener bug");
        });
        store.onCommit(oplogs -> threads.add(Thread.currentThread().getName()));

        append(ALICE, "a1", null);
        append(ALICE, "a2", null);

        await().atMost(TIMEOUT).until(() -> threads.size() == 2);
        // the thread that answers a batch once it is durable tells the listeners too
        assertThat(threads).containsOnly(GroupCommitWriter.SYNCER_THREAD_NAME);
    }

    @Test
    void closeFromAnOnCommitListenerDoesNotDeadlock() {
        CountDownLatch closedInListener = new CountDownLatch(1);
        store.onCommit(oplogs -> {
            store.close();
            closedInListener.countDown();
        });

        append(ALICE, "a1", null);
        await().atMost(TIMEOUT).until(() -> closedInListener.getCount() == 0);

        assertFailsWithStoreException(store.append(request(ALICE, "late", null)));
        store.close();
        assertThatThrownBy(() -> store.read(ALICE, 0, 10)).isInstanceOf(StoreException.class);
    }

    @Test
    void readsAfterCloseFailWithStoreException() {
        store.close();

        assertThatThrownBy(() -> store.read(ALICE, 0, 10)).isInstanceOf(StoreException.class);
        assertThatThrownBy(() -> store.lastId(ALICE)).isInstanceOf(StoreException.class);
        assertThatThrownBy(() -> store.get("phone-1", ALICE)).isInstanceOf(StoreException.class);
        assertThatThrownBy(() -> store.list()).isInstanceOf(StoreException.class);
    }

    @Test
    void createdAtComesFromTheClockWhenTheRequestHasNone() {
        Instant now = Instant.parse("2025-01-02T03:04:05Z");
        reopenWith(RocksDbStore.Options.defaults().withClock(Clock.fixed(now, ZoneOffset.UTC)),
                UnaryOperator.identity());

        Oplog stamped = completed(store.append(new AppendRequest(ALICE, "alice", "x", null, 0, 0, 0))).oplog();
        Oplog given = completed(store.append(new AppendRequest(ALICE, "alice", "y", null, 42, 0, 0))).oplog();

        assertThat(stamped.createdAt()).isEqualTo(now.toEpochMilli());
        assertThat(given.createdAt()).isEqualTo(42);
        assertThat(store.read(ALICE, 0, 10)).containsExactly(stamped, given);
    }

    @Test
    void largePayloadsAndOddValuesRoundTrip() {
        String large = "x".repeat(200_000) + "✓";
        Oplog big = completed(store.append(
                new AppendRequest(PHONE, "phone-1", large, "", -1, Long.MAX_VALUE, Long.MIN_VALUE))).oplog();
        Oplog empty = completed(store.append(new AppendRequest(PHONE, "phone-1", "", null, 1, 0, 0))).oplog();

        reopen();

        assertThat(store.read(PHONE, 0, 10)).containsExactly(big, empty);
        assertThat(store.read(PHONE, 0, 1).get(0).payload()).hasSize(200_001);
    }

    @Test
    void worksWithoutFsync() {
        reopenWith(RocksDbStore.Options.defaults().withFsync(false), UnaryOperator.identity());
        Oplog oplog = append(ALICE, "a1", "m-1").oplog();

        store.close();
        store = RocksDbStore.open(dir, RocksDbStore.Options.defaults().withFsync(false));

        assertThat(store.read(ALICE, 0, 10)).containsExactly(oplog);
    }

    @Test
    void rejectsIncompleteRequestsAtOnce() {
        assertThatThrownBy(() -> store.append(new AppendRequest(ALICE, "alice", null, null, 1, 0, 0)))
                .isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> store.append(new AppendRequest(ALICE, null, "x", null, 1, 0, 0)))
                .isInstanceOf(NullPointerException.class);
        assertThat(append(ALICE, "still works", null).oplog().id()).isEqualTo(1);
    }

    @Test
    void optionsRejectNonsense() {
        assertThatThrownBy(() -> RocksDbStore.Options.defaults().withMaxBatch(0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(RocksDbStore.Options.defaults())
                .isEqualTo(new RocksDbStore.Options(true, 1024, Clock.systemUTC()));
    }

    /** Regression: a store written before epochs existed (8-byte heads, 16-byte sync points) opens with epochs. */
    @Test
    void aStoreFromBeforeEpochsGetsAnEpochPerScopeAndKeepsItsIdsAndSyncPoints() throws Exception {
        append(ALICE, "a1", null);
        append(ALICE, "a2", null);
        store.advance("phone-1", ALICE, 0, 2);
        store.close();
        // rewrite the values as the previous format had them
        List<org.rocksdb.ColumnFamilyDescriptor> descriptors = new ArrayList<>();
        for (String name : List.of("default", "oplog", "idem", "syncpoint", "biztype", "scope")) {
            descriptors.add(new org.rocksdb.ColumnFamilyDescriptor(name.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }
        List<org.rocksdb.ColumnFamilyHandle> handles = new ArrayList<>();
        try (org.rocksdb.DBOptions options = new org.rocksdb.DBOptions();
             org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(options, dir.toString(), descriptors, handles)) {
            db.put(handles.get(5), Keys.scopeIndexKey(ALICE.key()), Keys.encodeLong(2));
            db.put(handles.get(3), Keys.syncPointKey("phone-1", ALICE.key()),
                    java.nio.ByteBuffer.allocate(16).putLong(2).putLong(1_700_000_000_000L).array());
            handles.forEach(org.rocksdb.ColumnFamilyHandle::close);
        }
        store = open(dir);
        long epoch = store.head(ALICE).epoch();
        assertThat(epoch).isNotZero();
        assertThat(store.head(ALICE).lastId()).isEqualTo(2);
        assertThat(store.read(ALICE, 0, 10)).extracting(Oplog::epoch).containsExactly(epoch, epoch);
        assertThat(store.position("phone-1", ALICE)).isEqualTo(new io.mss.server.store.SyncPointStore.Position(0, 2));
        Oplog next = append(ALICE, "a3", null).oplog();
        assertThat(next.id()).isEqualTo(3);
        assertThat(next.epoch()).isEqualTo(epoch);
    }
}
