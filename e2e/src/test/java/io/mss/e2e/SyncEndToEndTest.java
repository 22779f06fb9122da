package io.mss.e2e;

import io.mss.client.SyncMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The sync path end to end: HTTP push API -> store -> TLS gateway -> client SDK callbacks. */
class SyncEndToEndTest {
    @TempDir
    Path tmp;

    private Fleet fleet;
    private TestServer server;
    private DeliveryChecker checker;

    @BeforeEach
    void startServer() throws Exception {
        fleet = Fleet.start(tmp, "ORDER:APPOINTED:USER", "PHONE-SETTINGS:APPOINTED:DEVICE", "NEWS:GLOBAL:USER");
        server = fleet.server;
        checker = fleet.checker;
    }

    @AfterEach
    void stop() throws Exception {
        fleet.close();
    }

    private Device device(String deviceId, String userId, String... bizTypes) {
        return fleet.device(deviceId, userId, bizTypes);
    }

    private long push(String bizType, String linkToken, String payload) {
        Api.Answer answer = server.api.push(bizType, linkToken, payload, null);
        assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
        assertThat(answer.resultCode()).isEqualTo("OK");
        return answer.oplogId();
    }

    private void awaitCaughtUp(Device device, String scope) {
        await().atMost(Duration.ofSeconds(30)).until(() -> checker.caughtUp(device.deviceId, scope));
    }

    @Test
    void pushesToAnOfflineUserArriveInOrderWhenTheDeviceConnects() {
        String scope = DeliveryChecker.scope("ORDER", "USER", "alice");
        for (int i = 1; i <= 5; i++) {
            long id = push("ORDER", "alice", "order " + i);
            assertThat(id).isEqualTo(i);
            checker.acknowledged(scope, id, "order " + i);
        }
        Device phone = device("phone-1", "alice", "ORDER");
        awaitCaughtUp(phone, scope);
        assertThat(phone.received).extracting(SyncMessage::payload)
                .containsExactly("order 1", "order 2", "order 3", "order 4", "order 5");
        assertThat(phone.received).allSatisfy(m -> assertThat(m.userId()).isEqualTo("alice"));
        assertClean(Map.of("phone-1", List.of(scope)));
    }

    @Test
    void tenThousandPushesToOneUserArriveInOrderWithoutGapOrDuplicate() throws Exception {
        String scope = DeliveryChecker.scope("ORDER", "USER", "bob");
        // half before the device connects, half while it is connected, from 8 concurrent callers
        pushConcurrently("bob", scope, 0, 5_000);
        Device phone = device("phone-2", "bob", "ORDER");
        pushConcurrently("bob", scope, 5_000, 10_000);
        await().atMost(Duration.ofSeconds(60)).until(() -> checker.caughtUp("phone-2", scope));
        assertThat(checker.acknowledgedCount(scope)).isEqualTo(10_000);
        assertClean(Map.of("phone-2", List.of(scope)));
        List<Long> ids = phone.received.stream().map(SyncMessage::id).collect(Collectors.toList());
        assertThat(ids).hasSize(10_000).isSorted();
        assertThat(ids.get(9_999)).isEqualTo(10_000L);
    }

    private void pushConcurrently(String user, String scope, int from, int to) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    for (int i = from + thread; i < to; i += 8) {
                        String payload = "p" + i;
                        checker.acknowledged(scope, push("ORDER", user, payload), payload);
                    }
                }));
            }
            for (Future<?> future : futures) {
                future.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void twoDevicesOfOneUserBothGetEverything() {
        String scope = DeliveryChecker.scope("ORDER", "USER", "carol");
        Device phone = device("carol-phone", "carol", "ORDER");
        checker.acknowledged(scope, push("ORDER", "carol", "first"), "first");
        Device tablet = device("carol-tablet", "carol", "ORDER");
        for (int i = 0; i < 50; i++) {
            checker.acknowledged(scope, push("ORDER", "carol", "n" + i), "n" + i);
        }
        awaitCaughtUp(phone, scope);
        awaitCaughtUp(tablet, scope);
        assertClean(Map.of("carol-phone", List.of(scope), "carol-tablet", List.of(scope)));
    }

    @Test
    void deviceScopedPushesReachOnlyThatDevice() {
        String scope = DeliveryChecker.scope("PHONE-SETTINGS", "DEVICE", "dev-a");
        Device a = device("dev-a", "dave", "PHONE-SETTINGS");
        Device b = device("dev-b", "dave", "PHONE-SETTINGS");
        checker.acknowledged(scope, push("PHONE-SETTINGS", "dev-a", "dark mode"), "dark mode");
        awaitCaughtUp(a, scope);
        assertClean(Map.of("dev-a", List.of(scope)));
        // b is the same user's other device and must not see a's device data
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> b.received.isEmpty());
    }

    @Test
    void globalPushReachesEveryConnectedDeviceAndOneThatConnectsLater() {
        String scope = DeliveryChecker.scope("NEWS", "GLOBAL", "");
        List<Device> online = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            online.add(device("g" + i, i % 2 == 0 ? "user" + i : null, "NEWS"));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> online.stream().allMatch(d -> d.client.isConnected()));
        Api.Answer answer = server.api.pushGlobal("NEWS", "breaking");
        assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
        checker.acknowledged(scope, answer.oplogId(), "breaking");
        for (Device device : online) {
            awaitCaughtUp(device, scope);
        }
        Device late = device("g-late", null, "NEWS");
        awaitCaughtUp(late, scope);
        assertClean(Map.of("g0", List.of(scope), "g1", List.of(scope), "g2", List.of(scope), "g3", List.of(scope),
                "g4", List.of(scope), "g-late", List.of(scope)));
    }

    @Test
    void duplicateThirdMsgIdAnswersDuplicatedBizIdAndDeliversOnce() {
        String scope = DeliveryChecker.scope("ORDER", "USER", "erin");
        Api.Answer first = server.api.push("ORDER", "erin", "paid", "order-42-paid");
        Api.Answer again = server.api.push("ORDER", "erin", "paid", "order-42-paid");
        assertThat(first.resultCode()).isEqualTo("OK");
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.resultCode()).isEqualTo("DUPLICATED_BIZ_ID");
        assertThat(again.oplogId()).isEqualTo(first.oplogId());
        // the same thirdMsgId for another user is another message
        assertThat(server.api.push("ORDER", "frank", "paid", "order-42-paid").resultCode()).isEqualTo("OK");
        checker.acknowledged(scope, first.oplogId(), "paid");
        long next = push("ORDER", "erin", "shipped");
        checker.acknowledged(scope, next, "shipped");
        Device phone = device("erin-phone", "erin", "ORDER");
        awaitCaughtUp(phone, scope);
        assertClean(Map.of("erin-phone", List.of(scope)));
        assertThat(phone.received).extracting(SyncMessage::payload).containsExactly("paid", "shipped");
    }

    @Test
    void aRestartedAppResumesFromItsSyncPointsAndAnUnackedMessageComesAgain() throws Exception {
        String scope = DeliveryChecker.scope("ORDER", "USER", "gina");
        Path state = tmp.resolve("gina-state");
        checker.acknowledged(scope, push("ORDER", "gina", "one"), "one");
        checker.acknowledged(scope, push("ORDER", "gina", "two"), "two");
        try (Device first = new Device("gina-phone", "gina", server.syncPort(), server.certFile().toFile(), state,
                checker, "ORDER")) {
            // the app stores "one" but dies before storing "two"
            first.acks = m -> m.payload().equals("one");
            first.client.appToForeground();
            await().atMost(Duration.ofSeconds(10)).until(() -> first.received.size() == 2);
        }
        checker.acknowledged(scope, push("ORDER", "gina", "three"), "three");
        // same state dir: the restarted app gets the unacked "two", then "three", and never "one" again
        Device again = Device.connect("gina-phone", "gina", server, state, checker, "ORDER");
        fleet.add(again);
        awaitCaughtUp(again, scope);
        assertThat(again.received).extracting(SyncMessage::payload).containsExactly("two", "three");
        assertClean(Map.of("gina-phone", List.of(scope)));
    }

    private void assertClean(Map<String, List<String>> scopesByDevice) {
        DeliveryChecker.Report report = checker.check(scopesByDevice);
        assertThat(report.clean()).as(report.toString()).isTrue();
    }
}
