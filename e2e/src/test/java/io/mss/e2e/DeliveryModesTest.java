package io.mss.e2e;

import io.mss.client.SyncMessage;
import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Oplog;
import io.mss.protocol.v1.ServerFrame;
import io.mss.server.biz.BizType;
import io.mss.server.store.DeliveryFilter;
import io.mss.server.sync.SyncEngine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Each delivery mode of a sync configuration, end to end with the real server and SDK. */
class DeliveryModesTest {
    @TempDir
    Path tmp;

    private TestServer server;
    private final DeliveryChecker checker = new DeliveryChecker();
    private final List<Device> devices = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"));
    }

    @AfterEach
    void stop() throws Exception {
        for (Device device : devices) {
            device.close();
        }
        server.close();
    }

    private void bizType(BizType bizType) {
        server.server.bizTypeStore().put(bizType);
        server.server.engine().configChanged(bizType.id());
    }

    private static BizType with(BizType b, boolean multiDevice, boolean persistent, BizType.RePushMode mode,
                                int threshold, BizType.Status status) {
        return new BizType(b.id(), b.description(), b.range(), b.target(), multiDevice, persistent, b.retentionDays(),
                mode, threshold, status, null, null);
    }

    private Device deviceOn(String os, String version, String id, String user, String... bizTypes) {
        Device device = new Device(id, user, server.syncPort(), server.certFile().toFile(),
                tmp.resolve("state-" + id + "-" + devices.size()), checker, os, version, bizTypes);
        device.client.appToForeground();
        devices.add(device);
        await().atMost(Duration.ofSeconds(10)).until(device.client::isConnected);
        return device;
    }

    private Device device(String id, String user, String... bizTypes) {
        return deviceOn("android", "1.0.0", id, user, bizTypes);
    }

    private long push(String biz, String linkToken, String payload) {
        Api.Answer answer = server.api.push(biz, linkToken, payload, null);
        assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
        return answer.oplogId();
    }

    private static List<String> payloads(Device device) {
        return device.received.stream().map(SyncMessage::payload).toList();
    }

    @Test
    void singleDeviceGoesToTheLatestDeviceOnceAndIsNotRePushedOnReinstall() {
        bizType(with(BizType.of("INBOX", BizType.Range.APPOINTED, BizType.Target.USER), false, true,
                BizType.RePushMode.ALL, 0, BizType.Status.ONLINE));
        Device phone = device("phone", "ann", "INBOX");
        push("INBOX", "ann", "one");
        await().atMost(Duration.ofSeconds(10)).until(() -> payloads(phone).contains("one"));

        Device tablet = device("tablet", "ann", "INBOX");   // now the most recent device
        push("INBOX", "ann", "two");
        await().atMost(Duration.ofSeconds(10)).until(() -> payloads(tablet).contains("two"));
        assertThat(payloads(tablet)).containsExactly("two");       // "one" was already delivered, to the phone
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !payloads(phone).contains("two"));

        // a reinstall (fresh state) of either device gets nothing of the user's history again
        Device reinstalled = device("phone", "ann", "INBOX");
        push("INBOX", "ann", "three");
        await().atMost(Duration.ofSeconds(10)).until(() -> payloads(reinstalled).contains("three"));
        assertThat(payloads(reinstalled)).containsExactly("three");
    }

    @Test
    void nonPersistentReachesOnlySessionsOnlineAtPushTime() {
        bizType(with(BizType.of("TYPING", BizType.Range.APPOINTED, BizType.Target.USER), true, false,
                BizType.RePushMode.ALL, 0, BizType.Status.ONLINE));
        Api.Answer nobody = server.api.push("TYPING", "bea", "typing…", null);
        assertThat(nobody.body().path("delivered").asInt(-1)).isZero();

        Device a = device("bea-1", "bea", "TYPING");
        Device b = device("bea-2", "bea", "TYPING");
        Api.Answer both = server.api.push("TYPING", "bea", "still typing", null);
        assertThat(both.status()).isEqualTo(200);
        assertThat(both.body().path("delivered").asInt()).isEqualTo(2);
        await().atMost(Duration.ofSeconds(10)).until(() -> payloads(a).equals(List.of("still typing"))
                && payloads(b).equals(List.of("still typing")));
        Api.Answer again = server.api.push("TYPING", "bea", "done", null);
        assertThat(again.oplogId()).isGreaterThan(both.oplogId());
        await().atMost(Duration.ofSeconds(10)).until(() -> payloads(a).size() == 2);

        // nothing was stored: a device connecting now gets nothing
        Device late = device("bea-3", "bea", "TYPING");
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> late.received.isEmpty());
        assertThat(server.server.engine().hasData("TYPING")).isFalse();
    }

    @Test
    void validityWindowHoldsUntilItOpensAndExpiredOplogsAreNeverDeliveredAndPurged() throws Exception {
        bizType(BizType.of("COUPON", BizType.Range.APPOINTED, BizType.Target.USER));
        long now = System.currentTimeMillis();
        SyncEngine engine = server.server.engine();
        // expires before the device connects
        engine.push(new SyncEngine.Push("COUPON", "cid", "short", null, 0, now + 300, DeliveryFilter.NONE)).join();
        // opens 1.5 s from now
        engine.push(new SyncEngine.Push("COUPON", "cid", "later", null, now + 1_500, 0, DeliveryFilter.NONE)).join();
        engine.push(new SyncEngine.Push("COUPON", "cid", "after-later", null, 0, 0, DeliveryFilter.NONE)).join();
        await().pollDelay(Duration.ofMillis(400)).until(() -> true);
        Device phone = device("cid-phone", "cid", "COUPON");
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(1)).until(() -> phone.received.isEmpty());
        await().atMost(Duration.ofSeconds(10)).until(() -> phone.received.size() == 2);
        assertThat(payloads(phone)).containsExactly("later", "after-later");
        assertThat(phone.received.get(0).createdAt()).isLessThan(now + 1_500);
        // the expired one is gone from disk after the purge
        assertThat(engine.purgeExpired()).isEqualTo(1);
    }

    @Test
    void thresholdCutsABacklogToItsNewestAndSaysFullUpdate() {
        bizType(with(BizType.of("FEED", BizType.Range.APPOINTED, BizType.Target.USER), true, true,
                BizType.RePushMode.THRESHOLD, 5, BizType.Status.ONLINE));
        for (int i = 1; i <= 20; i++) {
            push("FEED", "dan", "f" + i);
        }
        Device phone = device("dan-phone", "dan", "FEED");
        await().atMost(Duration.ofSeconds(10)).until(() -> phone.received.size() == 5 && !phone.fullUpdates.isEmpty());
        assertThat(payloads(phone)).containsExactly("f16", "f17", "f18", "f19", "f20");
        assertThat(phone.fullUpdates).containsExactly("FEED");
        // on disk too: only the newest 5 remain
        await().atMost(Duration.ofSeconds(10)).until(() -> server.server.engine().dispatcher() != null
                && storedCount("FEED", "dan") == 5);
        // a device within the threshold gets everything and no FULL_UPDATE
        push("FEED", "dan", "f21");
        await().atMost(Duration.ofSeconds(10)).until(() -> payloads(phone).contains("f21"));
        assertThat(phone.fullUpdates).hasSize(1);
    }

    private long storedCount(String biz, String user) {
        // read through a fresh raw session: ids present in the store for the scope
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(ClientFrame.newBuilder().setHello(Hello.newBuilder()
                    .setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                    .setToken(TestServer.token("counter-" + System.nanoTime(), user)).addBizTypes(biz)
                    .addSyncPoints(io.mss.protocol.v1.SyncPoint.newBuilder().setBizType(biz)
                            .setScope(io.mss.protocol.v1.ScopeKind.USER).setId(0))).build());
            long count = 0;
            while (true) {
                ServerFrame frame = c.read();
                if (frame.hasSyncData()) {
                    count += frame.getSyncData().getBatchesList().stream().mapToLong(b -> b.getOplogsCount()).sum();
                    if (!frame.getSyncData().getHasMore()) {
                        return count;
                    }
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void filtersPickDevicesByOsAppVersionAndUser() {
        bizType(BizType.of("PROMO", BizType.Range.GLOBAL, BizType.Target.USER));
        Device ios2 = deviceOn("ios", "2.5.0", "ios-2", "100", "PROMO");
        Device android1 = deviceOn("android", "1.9", "android-1", "200", "PROMO");
        Device android3 = deviceOn("android", "3.0.1", "android-3", "300", "PROMO");
        SyncEngine engine = server.server.engine();
        engine.push(new SyncEngine.Push("PROMO", null, "ios only", null, 0, 0,
                new DeliveryFilter(Set.of("iOS"), null, null, Set.of(), null, null))).join();
        engine.push(new SyncEngine.Push("PROMO", null, "2.0 and up", null, 0, 0,
                new DeliveryFilter(Set.of(), "2.0", null, Set.of(), null, null))).join();
        engine.push(new SyncEngine.Push("PROMO", null, "up to 2.9", null, 0, 0,
                new DeliveryFilter(Set.of(), null, "2.9", Set.of(), null, null))).join();
        engine.push(new SyncEngine.Push("PROMO", null, "users 200 and 300", null, 0, 0,
                new DeliveryFilter(Set.of(), null, null, Set.of("200", "300"), null, null))).join();
        engine.push(new SyncEngine.Push("PROMO", null, "uids 150..250", null, 0, 0,
                new DeliveryFilter(Set.of(), null, null, Set.of(), 150L, 250L))).join();
        engine.push(new SyncEngine.Push("PROMO", null, "everyone", null, 0, 0, DeliveryFilter.NONE)).join();
        for (Device d : List.of(ios2, android1, android3)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> payloads(d).contains("everyone"));
        }
        assertThat(payloads(ios2)).containsExactly("ios only", "2.0 and up", "up to 2.9", "everyone");
        assertThat(payloads(android1)).containsExactly("up to 2.9", "users 200 and 300", "uids 150..250", "everyone");
        assertThat(payloads(android3)).containsExactly("2.0 and up", "users 200 and 300", "everyone");
    }

    @Test
    void offlinePausesDeliveryAndRefusesPushesOnlineResumes() {
        BizType chat = BizType.of("CHAT", BizType.Range.APPOINTED, BizType.Target.USER);
        bizType(chat);
        Device phone = device("eve-phone", "eve", "CHAT");
        push("CHAT", "eve", "before");
        await().atMost(Duration.ofSeconds(10)).until(() -> payloads(phone).contains("before"));

        bizType(with(chat, true, true, BizType.RePushMode.ALL, 0, BizType.Status.OFFLINE));
        Api.Answer refused = server.api.push("CHAT", "eve", "while offline", null);
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.resultCode()).isEqualTo("CONFIG_OFFLINE");

        // stored while ONLINE, for a device that is away; then the bizType goes OFFLINE
        bizType(chat);
        push("CHAT", "eve", "queued");
        bizType(with(chat, true, true, BizType.RePushMode.ALL, 0, BizType.Status.OFFLINE));
        Device tablet = device("eve-tablet", "eve", "CHAT");
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> tablet.received.isEmpty());

        // ONLINE again: delivery resumes from each device's sync point
        bizType(chat);
        await().atMost(Duration.ofSeconds(10)).until(() -> payloads(tablet).size() == 2);
        assertThat(payloads(tablet)).containsExactly("before", "queued");
        await().atMost(Duration.ofSeconds(10)).until(() -> payloads(phone).contains("queued"));
        assertThat(payloads(phone)).containsExactly("before", "queued");
    }

    @Test
    void anOplogSentSixTimesWithoutAnAckIsSkippedForThatDevice() throws Exception {
        bizType(BizType.of("CRASHY", BizType.Range.APPOINTED, BizType.Target.USER));
        push("CRASHY", "fay", "poison");
        push("CRASHY", "fay", "fine");
        for (int attempt = 1; attempt <= SyncEngine.POISON_CUTOFF_ATTEMPTS; attempt++) {
            assertThat(catchUpIds("fay-phone", "fay", "CRASHY")).as("attempt " + attempt).containsExactly(1L, 2L);
        }
        // the seventh time, the oplog that never got acked is skipped; the rest still comes
        assertThat(catchUpIds("fay-phone", "fay", "CRASHY")).containsExactly(2L);
        assertThat(server.server.engine().poisonCutoffs()).isEqualTo(1);
        // another device of the same user is not affected
        assertThat(catchUpIds("fay-tablet", "fay", "CRASHY")).containsExactly(1L, 2L);
    }

    /** Connects, reads the catch-up, and hangs up without acking: an app that crashes on it. */
    private List<Long> catchUpIds(String device, String user, String biz) throws Exception {
        List<Long> ids = new ArrayList<>();
        try (RawConnection c = new RawConnection(server.syncPort(), server.certFile())) {
            c.send(ClientFrame.newBuilder().setHello(Hello.newBuilder()
                    .setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                    .setToken(TestServer.token(device, user)).setDeviceId(device).addBizTypes(biz)).build());
            while (true) {
                ServerFrame frame = c.read();
                if (frame.hasSyncData()) {
                    frame.getSyncData().getBatchesList().forEach(b -> b.getOplogsList().stream()
                            .map(Oplog::getId).forEach(ids::add));
                    if (!frame.getSyncData().getHasMore()) {
                        return ids;
                    }
                }
            }
        }
    }
}
