package io.mss.e2e;

import io.mss.client.FullUpdate;
import io.mss.client.MessageCallback;
import io.mss.client.MssClient;
import io.mss.client.SyncMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Stream identity as an app lives it: real server processes, the real SDK keeping its state
 * directory across them. Whatever happens to the server's data or configuration, the app's
 * callback sees every push, in order, once — or FULL_UPDATE first and then everything of the
 * new timeline.
 */
class StreamIdentitySdkTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path tmp;
    ServerProcess server;
    final List<App> apps = new ArrayList<>();

    /** One app install: what its callback saw, in order — payloads, and FULL_UPDATEs as "FULL_UPDATE restart=…". */
    final class App implements AutoCloseable {
        final List<String> seen = new CopyOnWriteArrayList<>();
        final List<Long> epochs = new CopyOnWriteArrayList<>();
        final MssClient client;

        App(String deviceId, String userId, String bizType) {
            client = MssClient.builder()
                    .server("localhost", server.syncPort)
                    .trustCertificate(server.certFile().toFile())
                    .deviceId(deviceId)
                    .tokenProvider((did, uid) -> TestServer.token(did, uid))
                    .stateDir(tmp.resolve("app-" + deviceId).toFile())
                    .reconnectBackoff(50, 500)
                    .build();
            client.registerBiz(bizType, new MessageCallback() {
                @Override
                public void onMessage(SyncMessage message) {
                    seen.add(message.payload());
                    if (!message.ephemeral()) {
                        epochs.add(message.epoch());
                    }
                    client.reportMsgReceived(message);
                }

                @Override
                public void onFullUpdate(FullUpdate update) {
                    seen.add("FULL_UPDATE restart=" + update.restart());
                }
            });
            client.updateUserInfo(userId);
            client.appToForeground();
            apps.add(this);
        }

        void awaitSeen(int count) {
            await().atMost(WAIT).until(() -> seen.size() >= count);
        }

        /** Closes once the server holds the app's acks: a restart of the server must not resend what it has. */
        @Override
        public void close() {
            client.close();
        }
    }

    @BeforeEach
    void start() throws Exception {
        server = new ServerProcess(tmp.resolve("data"), Files.createDirectories(tmp.resolve("logs")));
        server.start();
    }

    @AfterEach
    void stop() throws Exception {
        for (App app : apps) {
            app.close();
        }
        server.close();
        server.assertNoLeaksLogged();
    }

    private void push(String bizType, String... payloads) {
        for (String payload : payloads) {
            assertThat(server.api().push(bizType, "alice", payload, null).status()).isEqualTo(200);
        }
    }

    private void persistent(String bizType, boolean persistent) {
        assertThat(server.api().call("PUT", "/api/v1/biz-types/" + bizType, "{\"persistent\":" + persistent + "}")
                .status()).isEqualTo(200);
    }

    private static String[] range(String prefix, int from, int to) {
        return java.util.stream.IntStream.rangeClosed(from, to).mapToObj(i -> prefix + i).toArray(String[]::new);
    }

    private static List<String> list(String... items) {
        return List.of(items);
    }

    @Test
    void switchingPersistentEitherWayDeliversEveryDurablePushInOrderOnceToConnectedAndReconnectingDevices()
            throws Exception {
        server.api().post("/api/v1/biz-types", java.util.Map.of("id", "FEED", "range", "APPOINTED", "target", "USER",
                "persistent", false));
        App phone = new App("phone", "alice", "FEED");
        App tablet = new App("tablet", "alice", "FEED");
        await().atMost(WAIT).until(() -> phone.client.isConnected() && tablet.client.isConnected());
        push("FEED", "e1");
        phone.awaitSeen(1);
        tablet.awaitSeen(1);
        tablet.close(); // the reconnecting device goes away

        persistent("FEED", true);
        push("FEED", range("d", 1, 5));
        phone.awaitSeen(6);
        App tabletAgain = new App("tablet", "alice", "FEED");
        tabletAgain.awaitSeen(5);

        persistent("FEED", false);
        push("FEED", "e2");
        phone.awaitSeen(7);
        tabletAgain.awaitSeen(6);
        tabletAgain.close();
        persistent("FEED", true);
        push("FEED", range("d", 6, 8));
        phone.awaitSeen(10);
        App tabletThird = new App("tablet", "alice", "FEED");
        tabletThird.awaitSeen(3);

        List<String> phoneExpected = new ArrayList<>(list("e1"));
        phoneExpected.addAll(list(range("d", 1, 5)));
        phoneExpected.add("e2");
        phoneExpected.addAll(list(range("d", 6, 8)));
        await().during(Duration.ofMillis(500)).atMost(WAIT).until(() -> phone.seen.size() == phoneExpected.size());
        assertThat(phone.seen).containsExactlyElementsOf(phoneExpected);
        assertThat(tablet.seen).containsExactly("e1");
        List<String> tabletAgainExpected = new ArrayList<>(list(range("d", 1, 5)));
        tabletAgainExpected.add("e2");
        assertThat(tabletAgain.seen).containsExactlyElementsOf(tabletAgainExpected);
        assertThat(tabletThird.seen).containsExactly(range("d", 6, 8));
    }

    @Test
    void aDataDirSwappedForAnEmptyOneIsToldFullUpdateAndEveryLaterPushArrivesInOrderOnce() throws Exception {
        server.api().createBizType("ORDERS", "APPOINTED", "USER");
        push("ORDERS", range("old ", 1, 5));
        App phone = new App("phone", "alice", "ORDERS");
        phone.awaitSeen(5);
        phone.close();
        server.close();

        // a new deployment on empty data; the certificate is configuration and stays
        Path old = tmp.resolve("data-before");
        Files.move(server.dataDir, old);
        Files.createDirectories(server.dataDir);
        TreeFiles.copy(old.resolve("tls"), server.dataDir.resolve("tls"));
        server.start();
        server.api().createBizType("ORDERS", "APPOINTED", "USER");
        push("ORDERS", range("new ", 1, 3));

        App phoneAgain = new App("phone", "alice", "ORDERS");
        phoneAgain.awaitSeen(4);
        push("ORDERS", "new 4");
        phoneAgain.awaitSeen(5);
        await().during(Duration.ofMillis(500)).atMost(WAIT).until(() -> phoneAgain.seen.size() == 5);
        assertThat(phoneAgain.seen).containsExactly("FULL_UPDATE restart=true", "new 1", "new 2", "new 3", "new 4");
        assertThat(phoneAgain.epochs).doesNotContainAnyElementsOf(phone.epochs).containsOnly(phoneAgain.epochs.get(0));
    }

    @Test
    void aDataDirSwappedForAnOlderCopyIsToldFullUpdateAndEveryLaterPushArrivesInOrderOnce() throws Exception {
        server.api().createBizType("ORDERS", "APPOINTED", "USER");
        push("ORDERS", range("o", 1, 10));
        App phone = new App("phone", "alice", "ORDERS");
        phone.awaitSeen(10);
        server.close();
        Path backup = tmp.resolve("backup");
        TreeFiles.copy(server.dataDir, backup);
        server.start();
        push("ORDERS", range("o", 11, 20));
        phone.awaitSeen(20);
        phone.close();
        server.close();

        // the older copy comes back; the phone is ahead of it
        TreeFiles.delete(server.dataDir);
        TreeFiles.copy(backup, server.dataDir);
        server.start();
        push("ORDERS", "after restore 1", "after restore 2");

        App phoneAgain = new App("phone", "alice", "ORDERS");
        phoneAgain.awaitSeen(13);
        push("ORDERS", "after restore 3");
        phoneAgain.awaitSeen(14);
        await().during(Duration.ofMillis(500)).atMost(WAIT).until(() -> phoneAgain.seen.size() == 14);
        List<String> expected = new ArrayList<>(list("FULL_UPDATE restart=true"));
        expected.addAll(list(range("o", 1, 10)));
        expected.addAll(list("after restore 1", "after restore 2", "after restore 3"));
        assertThat(phoneAgain.seen).containsExactlyElementsOf(expected);
    }

    @Test
    void aBizTypeDeletedWithItsDataAndCreatedAgainIsToldFullUpdateAndContinuesOnTheNewTimeline() throws Exception {
        server.api().createBizType("ORDERS", "APPOINTED", "USER");
        push("ORDERS", range("old ", 1, 3));
        App phone = new App("phone", "alice", "ORDERS");
        phone.awaitSeen(3);
        phone.close();
        assertThat(server.api().call("DELETE", "/api/v1/biz-types/ORDERS?force=true", null).status()).isEqualTo(200);
        server.api().createBizType("ORDERS", "APPOINTED", "USER");
        push("ORDERS", range("new ", 1, 2));

        App phoneAgain = new App("phone", "alice", "ORDERS");
        phoneAgain.awaitSeen(3);
        await().during(Duration.ofMillis(500)).atMost(WAIT).until(() -> phoneAgain.seen.size() == 3);
        assertThat(phoneAgain.seen).containsExactly("FULL_UPDATE restart=true", "new 1", "new 2");
    }
}
