package io.mss.e2e;

import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.ServerFrame;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A bizType change made while Redis is away never reaches the other node as a message: the
 * reconciliation compares the configurations in the store with those the node applied, so
 * devices there follow it within one interval. The node list, kept in Redis, is 503 meanwhile.
 * A handshake while PostgreSQL is away ends with an INTERNAL error the client retries after.
 */
class ClusterConfigOutageTest {
    @TempDir
    Path tmp;

    @Test
    void aConfigChangeMadeWhileRedisIsDownReachesTheOtherNodeAndAHandshakeWithoutTheStoreSaysRetry() throws Exception {
        try (PrivateServices services = PrivateServices.start();
             Cluster cluster = Cluster.start(tmp, 2, services.postgresUrl(), services.redisUri(), 500)) {
            Api nodeA = cluster.node(0).api();
            nodeA.createBizType("ORDER", "APPOINTED", "USER");
            assertThat(nodeA.call("PUT", "/api/v1/biz-types/ORDER", "{\"status\":\"OFFLINE\"}").status())
                    .isEqualTo(200);
            Device onB = cluster.connect("phone", "alice", 1, "ORDER");
            ClusterTest.awaitSessions(cluster, 1);

            services.stopRedis();
            await().atMost(Duration.ofSeconds(20)).until(() ->
                    cluster.node(1).api().call("GET", "/health/ready", null).status() == 503);
            Api.Answer nodes = cluster.node(1).api().call("GET", "/api/v1/nodes", null);
            assertThat(nodes.status()).as(nodes.toString()).isEqualTo(503);
            assertThat(nodes.resultCode()).isEqualTo("BUS_UNAVAILABLE");

            // through node A only: node B hears nothing of it on the bus
            assertThat(nodeA.call("PUT", "/api/v1/biz-types/ORDER", "{\"status\":\"ONLINE\"}").status())
                    .isEqualTo(200);
            Api.Answer pushed = nodeA.push("ORDER", "alice", "after-online", null);
            assertThat(pushed.status()).as(pushed.toString()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(15)).until(() -> onB.received.stream()
                    .anyMatch(m -> m.payload().equals("after-online")));
            services.startRedis();

            // PostgreSQL away during a handshake: the device is told to come back, not just dropped
            services.stopPostgres();
            try (RawConnection raw = new RawConnection(cluster.node(1).syncPort, cluster.node(1).certFile())) {
                raw.send(ClientFrame.newBuilder().setHello(Hello.newBuilder()
                        .setMinVersion(ProtocolVersion.MIN).setMaxVersion(ProtocolVersion.MAX)
                        .setToken(TestServer.token("tablet", "alice")).setDeviceId("tablet")
                        .addBizTypes("ORDER")).build());
                ServerFrame frame = raw.read();
                assertThat(frame.getKindCase()).as(frame.toString()).isEqualTo(ServerFrame.KindCase.ERROR);
                assertThat(frame.getError().getCode()).isEqualTo(ErrorCode.INTERNAL);
                assertThat(frame.getError().getRetry()).isTrue();
                assertThat(raw.closedByServer()).isTrue();
            }
            services.startPostgres();
        }
    }
}
