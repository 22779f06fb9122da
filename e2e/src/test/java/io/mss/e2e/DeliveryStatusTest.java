package io.mss.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code GET /api/v1/push/{bizType}/{oplogId}}: which devices have acknowledged an oplog, and when. */
class DeliveryStatusTest {
    @TempDir
    Path tmp;

    private Fleet fleet;
    private TestServer server;
    private DeliveryChecker checker;

    @BeforeEach
    void startServer() throws Exception {
        fleet = Fleet.start(tmp, "ORDER:APPOINTED:USER", "NEWS:GLOBAL:USER");
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

    private Api.Answer status(String bizType, long oplogId, String linkToken) {
        return server.api.call("GET", "/api/v1/push/" + bizType + "/" + oplogId
                + (linkToken == null ? "" : "?linkToken=" + linkToken), null);
    }

    private static List<String> ackedDevices(Api.Answer answer) {
        List<String> ids = new ArrayList<>();
        answer.body().path("acked").forEach(d -> ids.add(d.path("deviceId").asText()));
        return ids;
    }

    @Test
    void listsEveryDeviceOfTheUserThatAckedTheOplogWithItsAckTime() {
        long before = System.currentTimeMillis();
        Device phone = device("phone-1", "alice", "ORDER");
        Device tablet = device("tablet-1", "alice", "ORDER");
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().sessionCount() == 2);

        Api.Answer pushed = server.api.push("ORDER", "alice", "order 1 paid", null);
        assertThat(pushed.oplogId()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> phone.received.size() == 1 && tablet.received.size() == 1);

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(ackedDevices(status("ORDER", 1, "alice"))).containsExactlyInAnyOrder("phone-1", "tablet-1"));
        Api.Answer status = status("ORDER", 1, "alice");
        assertThat(status.status()).isEqualTo(200);
        assertThat(status.body().path("success").asBoolean()).isTrue();
        assertThat(status.resultCode()).isEqualTo("OK");
        assertThat(status.body().path("bizType").asText()).isEqualTo("ORDER");
        assertThat(status.body().path("oplogId").asLong()).isEqualTo(1);
        for (JsonNode device : status.body().path("acked")) {
            assertThat(device.path("ackedAt").asLong()).isBetween(before, System.currentTimeMillis());
            assertThat(device.path("syncPoint").asLong()).isEqualTo(1);
        }
        // a third device of alice that never connected is not listed
        assertThat(ackedDevices(status)).doesNotContain("laptop-1");

        // when it connects, it catches up and acks: then it is listed too
        Device laptop = device("laptop-1", "alice", "ORDER");
        await().atMost(Duration.ofSeconds(30)).until(() -> laptop.received.size() == 1);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(ackedDevices(status("ORDER", 1, "alice")))
                        .containsExactlyInAnyOrder("phone-1", "tablet-1", "laptop-1"));
    }

    @Test
    void unknownOplogsAndScopesAre404() {
        assertThat(server.api.push("ORDER", "alice", "one", null).oplogId()).isEqualTo(1);

        Api.Answer beyond = status("ORDER", 2, "alice");
        assertThat(beyond.status()).isEqualTo(404);
        assertThat(beyond.resultCode()).isEqualTo("OPLOG_NOT_FOUND");
        assertThat(beyond.body().path("message").asText()).contains("last id is 1");

        Api.Answer otherUser = status("ORDER", 1, "bob");
        assertThat(otherUser.status()).isEqualTo(404);
        assertThat(otherUser.resultCode()).isEqualTo("OPLOG_NOT_FOUND");

        Api.Answer noLinkToken = status("ORDER", 1, null);
        assertThat(noLinkToken.status()).isEqualTo(400);
        assertThat(noLinkToken.resultCode()).isEqualTo("MISSING_FIELD");
    }

    @Test
    void globalOplogsListEveryDeviceThatAckedThemWithoutALinkToken() {
        Device phone = device("phone-1", "alice", "NEWS");
        Device anonymous = device("kiosk-1", null, "NEWS");
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().sessionCount() == 2);

        assertThat(server.api.pushGlobal("NEWS", "hello everyone").oplogId()).isEqualTo(1);

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(ackedDevices(status("NEWS", 1, null))).containsExactlyInAnyOrder("phone-1", "kiosk-1"));
        assertThat(phone.received).hasSize(1);
        assertThat(anonymous.received).hasSize(1);
        Api.Answer withLinkToken = status("NEWS", 1, "alice");
        assertThat(withLinkToken.status()).isEqualTo(400);
        assertThat(withLinkToken.resultCode()).isEqualTo("RANGE_MISMATCH");
    }

    @Test
    void aSingleDeviceBizTypeShowsTheUsersOneSyncPoint() {
        Api.Answer created = server.api.post("/api/v1/biz-types",
                Map.of("id", "LATEST", "range", "APPOINTED", "target", "USER", "multiDevice", false));
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        Device phone = device("phone-1", "carol", "LATEST");
        await().atMost(Duration.ofSeconds(30)).until(() -> server.server.engine().sessionCount() == 1);

        assertThat(server.api.push("LATEST", "carol", "only the latest device", null).oplogId()).isEqualTo(1);

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(ackedDevices(status("LATEST", 1, "carol"))).containsExactly("(user)"));
        assertThat(phone.received).hasSize(1);
    }
}
