package io.mss.e2e;

import io.mss.client.MssClient;
import io.mss.mpaas.ISyncCallback;
import io.mss.mpaas.MPSync;
import io.mss.mpaas.SyncMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The mPaaS-style facade against the real server, written the way an mPaaS app calls MPSync:
 * setup, initialize, registerBiz, updateUserInfo, appToForeground, onReceiveMessage with
 * msgData, reportMsgReceived, a user switch, clearUserInfo, appToBackground.
 */
class MpaasFacadeTest {
    @TempDir
    Path tmp;
    TestServer server;
    final List<SyncMessage> received = new CopyOnWriteArrayList<>();
    final ISyncCallback callback = message -> {
        received.add(message);
        MPSync.reportMsgReceived(message);
    };

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start(tmp.resolve("server"));
        server.api.createBizType("ORDER", "APPOINTED", "USER");
        MPSync.configure(MssClient.builder()
                .server("localhost", server.syncPort())
                .trustCertificate(server.certFile().toFile())
                .deviceId("mpaas-phone")
                .tokenProvider((did, uid) -> TestServer.token(did, uid))
                .stateDir(tmp.resolve("state").toFile())
                .reconnectBackoff(50, 500));
        MPSync.setup(null);
        MPSync.initialize(null);
    }

    @AfterEach
    void stop() {
        MPSync.close();
        server.close();
    }

    @Test
    void registerReceiveAckAndSwitchUsers() throws Exception {
        MPSync.registerBiz("ORDER", callback);
        MPSync.updateUserInfo("ivy", "session-1");
        MPSync.appToForeground();
        await().atMost(Duration.ofSeconds(20)).until(MPSync::isConnected);

        long first = server.api.push("ORDER", "ivy", "{\"order\":1}", null).oplogId();
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
        SyncMessage m = received.get(0);
        assertThat(m.biz).isEqualTo("ORDER");
        assertThat(m.userId).isEqualTo("ivy");
        assertThat(m.msgData).isEqualTo("[{\"mk\":" + first + ",\"pl\":\"{\\\"order\\\":1}\"}]");
        assertThat(payloadsTheWayMpaasAppsReadThem(m.msgData)).containsExactly("{\"order\":1}");
        // reportMsgReceived reached the server as this device's ack
        await().atMost(Duration.ofSeconds(10)).until(() -> server.api
                .call("GET", "/api/v1/push/ORDER/" + first + "?linkToken=ivy", null)
                .body().path("acked").toString().contains("mpaas-phone"));

        // another user signs in on the same phone: only that user's messages from now on
        MPSync.updateUserInfo("jay", "session-2");
        server.api.push("ORDER", "ivy", "for ivy", null);
        server.api.push("ORDER", "jay", "for jay", null);
        await().atMost(Duration.ofSeconds(20)).until(() -> received.size() == 2);
        assertThat(received.get(1).userId).isEqualTo("jay");
        assertThat(payloadsTheWayMpaasAppsReadThem(received.get(1).msgData)).containsExactly("for jay");
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(3)).until(() -> received.size() == 2);

        MPSync.clearUserInfo();
        MPSync.appToBackground();
        await().atMost(Duration.ofSeconds(10)).until(() -> !MPSync.isConnected());
        MPSync.unregisterBiz("ORDER");
    }

    /**
     * What mPaaS's own Android sample does with msgData: a JSON array, each element's {@code pl}
     * is the payload, base64-decoded when {@code isB} is "1".
     */
    static List<String> payloadsTheWayMpaasAppsReadThem(String msgData) throws Exception {
        List<String> payloads = new ArrayList<>();
        for (JsonNode record : new ObjectMapper().readTree(msgData)) {
            String pl = record.path("pl").asText();
            payloads.add("1".equals(record.path("isB").asText())
                    ? new String(Base64.getDecoder().decode(pl), StandardCharsets.UTF_8) : pl);
        }
        return payloads;
    }
}
