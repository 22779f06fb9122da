package io.mss.server.store;

import io.mss.server.biz.BizType;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * What every oplog store must do, whatever it is built on. A subclass says how to open a
 * store on a directory; {@link #reopen()} closes it and opens it again on the same one.
 * {@code close()} must be idempotent.
 */
public abstract class OplogStoreContract<S extends OplogStore & SyncPointStore & BizTypeStore> {

    protected static final Duration TIMEOUT = Duration.ofSeconds(30);

    protected static final Scope ALICE = Scope.user("CHAT", "alice");
    protected static final Scope BOB = Scope.user("CHAT", "bob");
    protected static final Scope PHONE = Scope.device("ALERT", "phone-1");
    protected static final Scope NEWS = Scope.global("NEWS");

    @TempDir
    protected Path dir;

    protected S store;

    /** Opens a store on {@code dir}, which may be empty or hold a store closed earlier. */
    protected abstract S open(Path dir);

    /** Closes the store and opens a new one on the same directory. */
    protected S reopen() {
        store.close();
        store = open(dir);
        return store;
    }

    @BeforeEach
    void openStore() {
        store = open(dir);
    }

    @AfterEach
    void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    // ---- ids

    @Test
    void idsStartAtOneAndGrowPerScopeIndependently() {
        assertThat(append(ALICE, "a1", null).oplog().id()).isEqualTo(1);
        assertThat(append(ALICE, "a2", null).oplog().id()).isEqualTo(2);
        assertThat(append(BOB, "b1", null).oplog().id()).isEqualTo(1);
        assertThat(append(NEWS, "n1", null).oplog().id()).isEqualTo(1);
        assertThat(append(ALICE, "a3", null).oplog().id()).isEqualTo(3);
        assertThat(append(PHONE, "p1", null).oplog().id()).isEqualTo(1);
        assertThat(append(BOB, "b2", null).oplog().id()).isEqualTo(2);
    }

    @Test
    void appendReturnsTheOplogAsStored() {
        AppendResult result = completed(store.append(
                new AppendRequest(ALICE, "alice", "{\"text\":\"héllo ✓\"}", "m-1", 1_000, 2_000, 3_000)));

        assertThat(result.duplicate()).isFalse();
        assertThat(result.oplog()).isEqualTo(new Oplog(ALICE, 1, "{\"text\":\"héllo ✓\"}", "m-1", 1_000, 2_000,
                3_000).withEpoch(store.head(ALICE).epoch()));
        assertThat(store.read(ALICE, 0, 10)).containsExactly(result.oplog());
    }

    @Test
    void concurrentAppendsAreGaplessPerScope() throws Exception {
        List<Scope> scopes = List.of(ALICE, BOB, PHONE, NEWS);
        int threads = 8;
        int perThread = 400;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<List<AppendResult>>> work = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        try {
            for (int t = 0; t < threads; t++) {
                int thread = t;
                work.add(pool.submit(() -> {
                    start.await();
                    List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) {
                        Scope scope = scopes.get(ThreadLocalRandom.current().nextInt(scopes.size()));
                        futures.add(store.append(request(scope, "t" + thread + "-" + i, null)));
                    }
                    List<AppendResult> results = new ArrayList<>();
                    for (CompletableFuture<AppendResult> future : futures) {
                        results.add(completed(future));
                    }
                    return results;
                }));
            }
            start.countDown();
            Map<Scope, List<Long>> idsByScope = new HashMap<>();
            for (Future<List<AppendResult>> future : work) {
                for (AppendResult result : future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                    assertThat(result.duplicate()).isFalse();
                    idsByScope.computeIfAbsent(result.oplog().scope(), s -> new ArrayList<>())
                            .add(result.oplog().id());
                }
            }
            int total = 0;
            for (Map.Entry<Scope, List<Long>> entry : idsByScope.entrySet()) {
                List<Long> ids = new ArrayList<>(entry.getValue());
                Collections.sort(ids);
                int n = ids.size();
                total += n;
                // sorted and equal to 1..n: every id handed out exactly once, none skipped
                assertThat(ids).as("ids of %s", entry.getKey())
                        .containsExactlyElementsOf(LongStream.rangeClosed(1, n).boxed().toList());
                assertThat(store.lastId(entry.getKey())).isEqualTo(n);
                assertThat(store.read(entry.getKey(), 0, Integer.MAX_VALUE)).extracting(Oplog::id)
                        .containsExactlyElementsOf(ids);
            }
            assertThat(total).isEqualTo(threads * perThread);
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- idempotency

    @Test
    void duplicateThirdMsgIdReturnsTheOriginal() {
        AppendResult first = append(ALICE, "original", "m-1");
        AppendResult again = append(ALICE, "retry with other payload", "m-1");

        assertThat(first.duplicate()).isFalse();
        assertThat(again.duplicate()).isTrue();
        assertThat(again.oplog()).isEqualTo(first.oplog());
        assertThat(store.lastId(ALICE)).isEqualTo(1);
        assertThat(store.read(ALICE, 0, 10)).containsExactly(first.oplog());
    }

    @Test
    void duplicatesSubmittedTogetherStoreOneOplogPerKey() {
        List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            futures.add(store.append(request(ALICE, "first " + i, "m-" + i)));
            futures.add(store.append(request(ALICE, "second " + i, "m-" + i)));
        }
        for (int i = 0; i < 200; i++) {
            AppendResult first = completed(futures.get(2 * i));
            AppendResult second = completed(futures.get(2 * i + 1));
            assertThat(first.duplicate()).isFalse();
            assertThat(first.oplog().payload()).isEqualTo("first " + i);
            assertThat(second.duplicate()).isTrue();
            assertThat(second.oplog()).isEqualTo(first.oplog());
        }
        assertThat(store.lastId(ALICE)).isEqualTo(200);
        assertThat(store.read(ALICE, 0, 1000)).hasSize(200);
    }

    @Test
    void duplicateIsRecognisedAfterReopen() {
        AppendResult first = append(ALICE, "original", "m-1");
        reopen();

        AppendResult again = append(ALICE, "retry", "m-1");

        assertThat(again.duplicate()).isTrue();
        assertThat(again.oplog()).isEqualTo(first.oplog());
        assertThat(store.lastId(ALICE)).isEqualTo(1);
    }

    @Test
    void sameThirdMsgIdForAnotherLinkTokenOrBizTypeIsNotADuplicate() {
        AppendResult alice = append(ALICE, "to alice", "m-1");
        AppendResult bob = append(BOB, "to bob", "m-1");
        AppendResult otherBizType = completed(store.append(
                new AppendRequest(Scope.user("MAIL", "alice"), "alice", "mail", "m-1", 1, 0, 0)));
        AppendResult global = completed(store.append(new AppendRequest(NEWS, "", "news", "m-1", 1, 0, 0)));

        List<AppendResult> all = List.of(alice, bob, otherBizType, global);
        assertThat(all).noneMatch(AppendResult::duplicate);
        assertThat(all).extracting(r -> r.oplog().id()).containsOnly(1L);
    }

    @Test
    void withoutThirdMsgIdEveryAppendIsNew() {
        AppendResult first = append(ALICE, "same", null);
        AppendResult second = append(ALICE, "same", null);
        reopen();
        AppendResult third = append(ALICE, "same", null);

        List<AppendResult> all = List.of(first, second, third);
        assertThat(all).noneMatch(AppendResult::duplicate);
        assertThat(all).extracting(r -> r.oplog().id()).containsExactly(1L, 2L, 3L);
        assertThat(store.read(ALICE, 0, 10)).extracting(Oplog::thirdMsgId).containsOnlyNulls();
    }

    // ---- reads

    @Test
    void readReturnsAscendingIdsAfterAfterIdUpToMaxCount() {
        for (int i = 1; i <= 10; i++) {
            append(ALICE, "a" + i, null);
        }
        append(BOB, "b1", null);

        assertThat(store.read(ALICE, 0, 100)).extracting(Oplog::id)
                .containsExactlyElementsOf(LongStream.rangeClosed(1, 10).boxed().toList());
        assertThat(store.read(ALICE, 3, 4)).extracting(Oplog::payload).containsExactly("a4", "a5", "a6", "a7");
        assertThat(store.read(ALICE, 8, 100)).extracting(Oplog::id).containsExactly(9L, 10L);
        assertThat(store.read(ALICE, 0, 1)).extracting(Oplog::id).containsExactly(1L);
        assertThat(store.read(ALICE, 0, 0)).isEmpty();
        assertThat(store.read(ALICE, 10, 100)).isEmpty();
        assertThat(store.read(ALICE, 500, 100)).isEmpty();
        assertThat(store.read(ALICE, Long.MAX_VALUE, 100)).isEmpty();
        assertThat(store.read(Scope.user("CHAT", "nobody"), 0, 100)).isEmpty();
        assertThat(store.read(BOB, 0, 100)).extracting(Oplog::payload).containsExactly("b1");
    }

    @Test
    void scopesWhoseKeysArePrefixesOfEachOtherDoNotMix() {
        Scope shorter = Scope.user("CHAT", "al");
        Scope longer = Scope.user("CHAT", "al|ice");
        append(shorter, "short", null);
        append(longer, "long", null);

        assertThat(store.read(shorter, 0, 10)).extracting(Oplog::payload).containsExactly("short");
        assertThat(store.read(longer, 0, 10)).extracting(Oplog::payload).containsExactly("long");
        assertThat(store.read(longer, 0, 10)).extracting(Oplog::scope).containsExactly(longer);
        assertThat(store.lastId(shorter)).isEqualTo(1);
    }

    @Test
    void lastIdIsTheHighestAssigned() {
        assertThat(store.lastId(ALICE)).isZero();
        append(ALICE, "a1", null);
        append(ALICE, "a2", null);
        append(ALICE, "a3", "dup");
        append(ALICE, "a3 again", "dup");

        assertThat(store.lastId(ALICE)).isEqualTo(3);
        assertThat(store.lastId(BOB)).isZero();
    }

    @Test
    void reopenKeepsEverythingAndContinuesIds() {
        List<Oplog> alice = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            alice.add(append(ALICE, "a" + i, "m-" + i).oplog());
        }
        Oplog news = append(NEWS, "n", null).oplog();

        reopen();

        assertThat(store.read(ALICE, 0, 100)).containsExactlyElementsOf(alice);
        assertThat(store.read(NEWS, 0, 100)).containsExactly(news);
        assertThat(store.lastId(ALICE)).isEqualTo(5);
        assertThat(append(ALICE, "a5", null).oplog().id()).isEqualTo(6);
        assertThat(append(NEWS, "n2", null).oplog().id()).isEqualTo(2);
        assertThat(append(BOB, "b", null).oplog().id()).isEqualTo(1);
    }

    // ---- onCommit

    @Test
    void onCommitSeesEveryNewOplogOnceInAscendingOrderPerScope() throws Exception {
        List<Oplog> seen = new CopyOnWriteArrayList<>();
        store.onCommit(seen::addAll);
        List<Scope> scopes = List.of(ALICE, BOB, NEWS);
        List<CompletableFuture<AppendResult>> futures = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> submitters = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                submitters.add(pool.submit(() -> {
                    for (int i = 0; i < 300; i++) {
                        // every fifth append uses a key that the other three threads use too
                        String thirdMsgId = i % 5 == 0 ? "m-" + i : null;
                        futures.add(store.append(request(scopes.get(i % scopes.size()), "p" + i, thirdMsgId)));
                    }
                }));
            }
            for (Future<?> submitter : submitters) {
                submitter.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<Oplog> stored = futures.stream().map(OplogStoreContract::completed)
                .filter(r -> !r.duplicate()).map(AppendResult::oplog).toList();
        // 4 threads x 240 appends without a key, plus one of the 4 appends of each of the 60 keys
        assertThat(stored).hasSize(4 * 240 + 60);

        await().atMost(TIMEOUT).until(() -> seen.size() >= stored.size());

        assertThat(seen).hasSize(stored.size()).doesNotHaveDuplicates()
                .containsExactlyInAnyOrderElementsOf(stored);
        Map<Scope, List<Long>> idsByScope = seen.stream().collect(
                Collectors.groupingBy(Oplog::scope, Collectors.mapping(Oplog::id, Collectors.toList())));
        idsByScope.forEach((scope, ids) -> assertThat(ids).as("ids of %s", scope).isSorted());
    }

    @Test
    void onCommitIsNotCalledForDuplicates() {
        List<Oplog> seen = new CopyOnWriteArrayList<>();
        store.onCommit(seen::addAll);
        Oplog original = append(ALICE, "x", "m-1").oplog();
        append(ALICE, "x", "m-1");
        Oplog marker = append(BOB, "marker", null).oplog();

        await().atMost(TIMEOUT).until(() -> seen.contains(marker));

        assertThat(seen).containsExactly(original, marker);
    }

    // ---- sync points

    @Test
    void syncPointOnlyMovesForwardAndSurvivesReopen() {
        assertThat(store.get("phone-1", ALICE)).isZero();

        store.advance("phone-1", ALICE, 5);
        store.advance("phone-1", ALICE, 3);
        store.advance("phone-1", BOB, 2);
        store.advance("phone-2", ALICE, 9);

        assertThat(store.get("phone-1", ALICE)).isEqualTo(5);
        store.advance("phone-1", ALICE, 7);
        reopen();
        assertThat(store.get("phone-1", ALICE)).isEqualTo(7);
        assertThat(store.get("phone-1", BOB)).isEqualTo(2);
        assertThat(store.get("phone-2", ALICE)).isEqualTo(9);
        assertThat(store.get("phone-2", BOB)).isZero();
    }

    @Test
    void syncPointsOfOneScopeListWithTheirAckTimes() {
        // "CHAT|U|ali" is a prefix of ALICE's scope key: it must not leak into ALICE's list
        Scope ali = Scope.user("CHAT", "ali");
        store.advance("phone-1", ALICE, 5);
        store.advance("phone-2", ALICE, 3);
        store.advance(SyncPointStore.USER_OWNED, ALICE, 4);
        store.advance("phone-9", ali, 8);
        store.advance("phone-1", BOB, 2);
        reopen();
        assertThat(store.list(ALICE)).extracting(SyncPointStore.DeviceSyncPoint::deviceId)
                .containsExactlyInAnyOrder("phone-1", "phone-2", SyncPointStore.USER_OWNED);
        assertThat(store.list(ALICE)).allSatisfy(p -> assertThat(p.ackedAt()).isPositive());
        assertThat(store.list(ALICE)).filteredOn(p -> p.deviceId().equals("phone-1"))
                .singleElement().extracting(SyncPointStore.DeviceSyncPoint::syncPoint).isEqualTo(5L);
        assertThat(store.list(ali)).extracting(SyncPointStore.DeviceSyncPoint::deviceId).containsExactly("phone-9");
        assertThat(store.list(Scope.global("NEWS"))).isEmpty();
    }

    @Test
    void deliveryFilterAndValidityRoundTrip() {
        DeliveryFilter filter = new DeliveryFilter(java.util.Set.of("android", "ios"), "2.0", "3.1.4",
                java.util.Set.of("7", "9"), 100L, null);
        AppendResult stored = store.append(new AppendRequest(Scope.global("NEWS"), "", "hello", null, 1000, 1500, 9000,
                filter)).join();
        reopen();
        Oplog read = store.read(Scope.global("NEWS"), 0, 10).get(0);
        assertThat(read).isEqualTo(stored.oplog());
        assertThat(read.filter()).isEqualTo(filter);
        assertThat(read.validFrom()).isEqualTo(1500);
        assertThat(read.validUntil()).isEqualTo(9000);
    }

    @Test
    void trimmingKeepsTheNewestAndIdsNeverRestart() {
        for (int i = 1; i <= 10; i++) {
            append(ALICE, "a" + i, null);
        }
        store.trim(ALICE, 7);
        assertThat(store.read(ALICE, 0, 100)).extracting(Oplog::id).containsExactly(8L, 9L, 10L);
        store.trim(ALICE, 10);
        assertThat(store.read(ALICE, 0, 100)).isEmpty();
        reopen();
        assertThat(store.lastId(ALICE)).isEqualTo(10);
        assertThat(append(ALICE, "a11", null).oplog().id()).isEqualTo(11);
    }

    @Test
    void purgeDeletesExpiredOplogsAndTheirIdempotencyKeys() {
        Scope news = Scope.global("NEWS");
        store.append(new AppendRequest(news, "", "old", "t-old", 1_000, 0, 0)).join();
        store.append(new AppendRequest(news, "", "short-lived", null, 50_000, 0, 60_000)).join();
        store.append(new AppendRequest(news, "", "fresh", null, 90_000, 0, 0)).join();
        // at t=100s with 30 s retention: "old" is too old, "short-lived" is past its window
        assertThat(store.purgeExpired(news, 100_000, 30_000)).isEqualTo(2);
        assertThat(store.read(news, 0, 10)).extracting(Oplog::payload).containsExactly("fresh");
        // the idempotency key went with its oplog: the same thirdMsgId is a new push again
        AppendResult again = store.append(new AppendRequest(news, "", "old", "t-old", 100_000, 0, 0)).join();
        assertThat(again.duplicate()).isFalse();
        assertThat(again.oplog().id()).isEqualTo(4);
    }

    @Test
    void scopesOfABizTypeAndDeletingItsData() {
        append(ALICE, "a", "t1");
        append(BOB, "b", null);
        store.append(new AppendRequest(Scope.user("CHATTER", "carol"), "carol", "c", null, 0, 0, 0)).join();
        assertThat(store.scopes("CHAT")).containsExactlyInAnyOrder(ALICE, BOB);
        assertThat(store.hasData("CHAT")).isTrue();
        store.deleteData("CHAT");
        assertThat(store.hasData("CHAT")).isFalse();
        assertThat(store.hasData("CHATTER")).isTrue();
        assertThat(store.read(ALICE, 0, 10)).isEmpty();
        // recreated later, it continues the ids, and the old thirdMsgId is free again
        AppendResult next = append(ALICE, "a", "t1");
        assertThat(next.duplicate()).isFalse();
        assertThat(next.oplog().id()).isEqualTo(2);
    }

    @Test
    void concurrentAdvancesKeepTheHighest() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                work.add(pool.submit(() -> {
                    for (int i = 0; i < 500; i++) {
                        store.advance("phone-1", ALICE, ThreadLocalRandom.current().nextLong(1, 1000));
                    }
                    store.advance("phone-1", ALICE, 1000);
                    store.advance("phone-1", ALICE, 999);
                }));
            }
            for (Future<?> future : work) {
                future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(store.get("phone-1", ALICE)).isEqualTo(1000);
    }

    // ---- bizTypes

    @Test
    void bizTypeCrudSurvivesReopen() {
        BizType chat = new BizType("CHAT", "chat messages", BizType.Range.APPOINTED, BizType.Target.USER,
                true, true, 30, BizType.RePushMode.THRESHOLD, 100, BizType.Status.ONLINE,
                "http://backend.example/upstream", null);
        BizType alert = new BizType("ALERT", null, BizType.Range.APPOINTED, BizType.Target.DEVICE,
                false, false, 7, BizType.RePushMode.ALL, 0, BizType.Status.OFFLINE, null, null);
        BizType news = new BizType("NEWS", "headlines", BizType.Range.GLOBAL, BizType.Target.USER,
                false, true, 1, BizType.RePushMode.ALL, 0, BizType.Status.ONLINE, null, "https://backend.example/r");
        assertThat(store.list()).isEmpty();
        assertThat(store.get("CHAT")).isEmpty();

        store.put(news);
        store.put(chat);
        store.put(alert);
        assertThat(store.get("CHAT")).contains(chat);
        assertThat(store.list()).containsExactly(alert, chat, news);

        BizType chatChanged = new BizType("CHAT", "changed", BizType.Range.APPOINTED, BizType.Target.USER,
                false, true, 60, BizType.RePushMode.ALL, 0, BizType.Status.ONLINE, null, null);
        store.put(chatChanged);
        assertThat(store.delete("ALERT")).isTrue();
        assertThat(store.delete("ALERT")).isFalse();
        assertThat(store.delete("NEVER")).isFalse();

        reopen();
        assertThat(store.get("CHAT")).contains(chatChanged);
        assertThat(store.get("ALERT")).isEmpty();
        assertThat(store.list()).containsExactly(chatChanged, news);
    }

    @Test
    void createOnlyCreatesAnAbsentId() {
        BizType chat = bizType("CHAT", 30);
        assertThat(store.create(chat)).isTrue();
        assertThat(store.create(bizType("CHAT", 60))).isFalse();
        assertThat(store.get("CHAT")).contains(chat);
    }

    @Test
    void updateAppliesTheChangeToTheCurrentValue() {
        assertThat(store.update("CHAT", current -> bizType("CHAT", 1))).isEmpty();
        assertThat(store.get("CHAT")).isEmpty();
        store.create(bizType("CHAT", 30));

        BizTypeStore.Change change = store.update("CHAT", current -> bizType("CHAT", current.retentionDays() + 1))
                .orElseThrow();
        assertThat(change.old()).isEqualTo(bizType("CHAT", 30));
        assertThat(change.updated()).isEqualTo(bizType("CHAT", 31));
        assertThat(store.get("CHAT")).contains(bizType("CHAT", 31));

        // a refusal inside the change leaves the bizType as it was, and comes out as it is
        IllegalStateException refusal = new IllegalStateException("no");
        assertThatThrownBy(() -> store.update("CHAT", current -> {
            throw refusal;
        })).isSameAs(refusal);
        assertThat(store.get("CHAT")).contains(bizType("CHAT", 31));
    }

    @Test
    void deleteWithDataRefusesStoredOplogsUnlessForced() {
        assertThat(store.deleteWithData("CHAT", true)).isEqualTo(new BizTypeStore.Deletion(null, false, false));
        BizType chat = bizType("CHAT", 30);
        store.create(chat);
        append(ALICE, "a", "t1");
        append(BOB, "b", null);
        store.create(bizType("CHATTER", 30));
        store.append(new AppendRequest(Scope.user("CHATTER", "carol"), "carol", "c", null, 0, 0, 0)).join();

        assertThat(store.deleteWithData("CHAT", false)).isEqualTo(new BizTypeStore.Deletion(chat, true, false));
        assertThat(store.get("CHAT")).contains(chat);
        assertThat(store.hasData("CHAT")).isTrue();

        assertThat(store.deleteWithData("CHAT", true)).isEqualTo(new BizTypeStore.Deletion(chat, true, true));
        assertThat(store.get("CHAT")).isEmpty();
        assertThat(store.hasData("CHAT")).isFalse();
        assertThat(store.hasData("CHATTER")).isTrue();
        assertThat(store.get("CHATTER")).isPresent();

        // created again, it starts empty, continues the ids, and the old thirdMsgId is free
        assertThat(store.create(chat)).isTrue();
        AppendResult next = append(ALICE, "a", "t1");
        assertThat(next.duplicate()).isFalse();
        assertThat(next.oplog().id()).isEqualTo(2);
        // without data, no force is needed
        store.create(bizType("EMPTY", 30));
        assertThat(store.deleteWithData("EMPTY", false))
                .isEqualTo(new BizTypeStore.Deletion(bizType("EMPTY", 30), false, true));
    }

    protected static BizType bizType(String id, int retentionDays) {
        return new BizType(id, "", BizType.Range.APPOINTED, BizType.Target.USER, true, true, retentionDays,
                BizType.RePushMode.ALL, 0, BizType.Status.ONLINE, null, null);
    }

    // ---- close

    @Test
    void appendAfterCloseFailsWithStoreException() {
        store.close();

        assertFailsWithStoreException(store.append(request(ALICE, "late", null)));
    }

    @Test
    void closeLeavesNoAppendUnfinished() {
        List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            futures.add(store.append(request(i % 2 == 0 ? ALICE : BOB, "p" + i, null)));
        }

        store.close();

        assertThat(futures).allMatch(CompletableFuture::isDone);
        long stored = 0;
        for (CompletableFuture<AppendResult> future : futures) {
            if (future.isCompletedExceptionally()) {
                assertFailsWithStoreException(future);
            } else {
                stored++;
            }
        }
        store = open(dir);
        assertThat(store.lastId(ALICE) + store.lastId(BOB)).isEqualTo(stored);
    }

    // ---- epochs (stream identity)

    @Test
    void aScopeWithoutOplogsHasNoTimelineAndItsFirstAppendStartsOne() {
        assertThat(store.head(ALICE)).isEqualTo(ScopeHead.NONE);
        Oplog first = append(ALICE, "a1", null).oplog();
        ScopeHead head = store.head(ALICE);
        assertThat(head.epoch()).isBetween(1L, ScopeHead.MAX_EPOCH);
        assertThat(head.lastId()).isEqualTo(1);
        assertThat(first.epoch()).isEqualTo(head.epoch());
        assertThat(append(ALICE, "a2", null).oplog().epoch()).isEqualTo(head.epoch());
        // every scope draws its own
        append(BOB, "b1", null);
        assertThat(store.head(BOB).epoch()).isNotZero().isNotEqualTo(head.epoch());
    }

    @Test
    void readOplogsAndCommittedOplogsCarryTheEpochAndItSurvivesReopen() {
        List<Oplog> committed = new CopyOnWriteArrayList<>();
        store.onCommit(committed::addAll);
        append(ALICE, "a1", null);
        append(ALICE, "a2", null);
        long epoch = store.head(ALICE).epoch();
        await().atMost(TIMEOUT).until(() -> committed.size() == 2);
        assertThat(committed).extracting(Oplog::epoch).containsOnly(epoch);
        assertThat(store.read(ALICE, 0, 10)).extracting(Oplog::epoch).containsExactly(epoch, epoch);
        reopen();
        assertThat(store.head(ALICE)).isEqualTo(new ScopeHead(epoch, 2));
        assertThat(append(ALICE, "a3", null).oplog().epoch()).isEqualTo(epoch);
        assertThat(store.read(ALICE, 0, 10)).extracting(Oplog::epoch).containsOnly(epoch);
    }

    @Test
    void trimmingAndPurgingKeepTheTimeline() {
        for (int i = 1; i <= 5; i++) {
            append(ALICE, "a" + i, null);
        }
        long epoch = store.head(ALICE).epoch();
        store.trim(ALICE, 3);
        store.purgeExpired(ALICE, 1_700_000_000_000L + 10 * 86_400_000L, 86_400_000L);
        assertThat(store.head(ALICE)).isEqualTo(new ScopeHead(epoch, 5));
    }

    @Test
    void deletingABizTypesDataStartsNewTimelinesWithIdsGoingOn() {
        append(ALICE, "a1", null);
        append(ALICE, "a2", null);
        append(PHONE, "p1", null);
        long aliceEpoch = store.head(ALICE).epoch();
        long phoneEpoch = store.head(PHONE).epoch();
        store.deleteData("CHAT");
        ScopeHead after = store.head(ALICE);
        assertThat(after.epoch()).isNotZero().isNotEqualTo(aliceEpoch);
        assertThat(after.lastId()).isEqualTo(2);
        // the next append is on the new timeline, and the writer does not bring the old epoch back
        Oplog next = append(ALICE, "a3", null).oplog();
        assertThat(next.id()).isEqualTo(3);
        assertThat(next.epoch()).isEqualTo(after.epoch());
        assertThat(store.head(ALICE).epoch()).isEqualTo(after.epoch());
        assertThat(store.head(PHONE).epoch()).isEqualTo(phoneEpoch);
    }

    @Test
    void startNewTimelinesGivesEveryScopeANewEpochAndKeepsItsIds() {
        append(ALICE, "a1", null);
        append(NEWS, "n1", null);
        append(NEWS, "n2", null);
        long alice = store.head(ALICE).epoch();
        long news = store.head(NEWS).epoch();
        store.startNewTimelines();
        assertThat(store.head(ALICE).epoch()).isNotZero().isNotEqualTo(alice);
        assertThat(store.head(NEWS).epoch()).isNotZero().isNotEqualTo(news);
        assertThat(store.head(NEWS).lastId()).isEqualTo(2);
        Oplog next = append(NEWS, "n3", null).oplog();
        assertThat(next.id()).isEqualTo(3);
        assertThat(next.epoch()).isEqualTo(store.head(NEWS).epoch());
        assertThat(store.read(NEWS, 0, 10)).extracting(Oplog::epoch).containsOnly(next.epoch());
        reopen();
        assertThat(store.head(NEWS).epoch()).isEqualTo(next.epoch());
    }

    @Test
    void syncPointsKeepTheirEpochAndAnotherEpochReplacesThem() {
        assertThat(store.position("phone-1", ALICE)).isEqualTo(SyncPointStore.Position.NONE);
        store.advance("phone-1", ALICE, 11, 5);
        store.advance("phone-1", ALICE, 11, 3);
        assertThat(store.position("phone-1", ALICE)).isEqualTo(new SyncPointStore.Position(11, 5));
        // an ack without an epoch raises the id on the known one
        store.advance("phone-1", ALICE, 0, 7);
        assertThat(store.position("phone-1", ALICE)).isEqualTo(new SyncPointStore.Position(11, 7));
        // another timeline: the old position means nothing there
        store.advance("phone-1", ALICE, 22, 2);
        assertThat(store.position("phone-1", ALICE)).isEqualTo(new SyncPointStore.Position(22, 2));
        assertThat(store.list(ALICE)).singleElement().satisfies(p -> {
            assertThat(p.epoch()).isEqualTo(22);
            assertThat(p.syncPoint()).isEqualTo(2);
        });
        // a reset goes down too
        store.reset("phone-1", ALICE, 22, 0);
        assertThat(store.position("phone-1", ALICE)).isEqualTo(new SyncPointStore.Position(22, 0));
        store.advance("phone-1", ALICE, 22, 1);
        reopen();
        assertThat(store.position("phone-1", ALICE)).isEqualTo(new SyncPointStore.Position(22, 1));
    }

    @Test
    void aSyncPointStoredWithoutEpochTakesTheFirstOneAcked() {
        store.advance("phone-1", ALICE, 9);
        assertThat(store.position("phone-1", ALICE)).isEqualTo(new SyncPointStore.Position(0, 9));
        store.advance("phone-1", ALICE, 33, 4);
        assertThat(store.position("phone-1", ALICE)).isEqualTo(new SyncPointStore.Position(33, 9));
    }

    // ---- helpers

    protected static AppendRequest request(Scope scope, String payload, String thirdMsgId) {
        return new AppendRequest(scope, scope.owner(), payload, thirdMsgId, 1_700_000_000_000L, 0, 0);
    }

    protected AppendResult append(Scope scope, String payload, String thirdMsgId) {
        return completed(store.append(request(scope, payload, thirdMsgId)));
    }

    /** The future's value, failing the test instead of hanging it. */
    protected static <T> T completed(CompletableFuture<T> future) {
        try {
            return future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        } catch (ExecutionException e) {
            throw new AssertionError("append failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError("append did not complete within " + TIMEOUT, e);
        }
    }

    protected static void assertFailsWithStoreException(CompletableFuture<?> future) {
        assertThatThrownBy(() -> future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(StoreException.class);
    }
}
