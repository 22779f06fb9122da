package io.mss.e2e;

import io.mss.protocol.v1.Command;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.server.config.ServerConfig;
import io.mss.server.store.postgres.PostgresStore;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** Stream identity on PostgreSQL (the shared database's schema dropped and created anew as "wiped"). */
class PostgresStreamIdentityTest extends StreamIdentityContract {
    private static final AtomicInteger SCHEMAS = new AtomicInteger();
    private final String schema = "identity_" + ProcessHandle.current().pid() + "_" + SCHEMAS.incrementAndGet();

    @Override
    void configure(ServerConfig config) {
        config.store = "postgres";
        config.postgresUrl = Cluster.POSTGRES_URL;
        config.postgresUser = Cluster.POSTGRES_USER;
        config.postgresSchema = schema;
    }

    @Override
    void wipeStore() {
        PostgresStore.dropSchema(Cluster.POSTGRES_URL, Cluster.POSTGRES_USER, "", schema);
    }

    /**
     * A scope's timeline changed in the store with no push to announce it, as when a writer settles
     * a commit that was never answered: a connected device that holds the old timeline is told
     * FULL_UPDATE by the reconciliation and gets the scope again from its start on the new one.
     */
    @Test
    void aTimelineNoPushAnnouncedReachesAConnectedDeviceThroughTheReconciliation() throws Exception {
        push(3, "a ");
        try (RawDevice phone = connect("phone", "alice", 2)) {
            List<ServerFrame> got = phone.catchUp();
            if (RawDevice.ids(got).size() < 3) {
                got.addAll(phone.untilOplogs(3 - RawDevice.ids(got).size()));
            }
            long oldEpoch = epochOf(got);
            phone.ack(ORDERS, ScopeKind.USER, oldEpoch, 3);
            long newEpoch = oldEpoch == 7 ? 8 : 7;
            try (Connection db = DriverManager.getConnection(Cluster.POSTGRES_URL, Cluster.POSTGRES_USER, "");
                 PreparedStatement renew = db.prepareStatement(
                         "UPDATE \"" + schema + "\".scope_head SET epoch = ? WHERE biz_type = ?")) {
                renew.setLong(1, newEpoch);
                renew.setString(2, ORDERS);
                assertThat(renew.executeUpdate()).isEqualTo(1);
            }
            // within one reconciliation interval (3 s); next() waits up to 10 s for each frame
            List<ServerFrame> after = phone.untilOplogs(3);
            Command restart = onlyRestart(after);
            assertThat(restart.getEpoch()).isEqualTo(newEpoch);
            assertThat(after.get(0).hasCommand()).as("FULL_UPDATE first: %s", after).isTrue();
            assertThat(epochOf(after)).isEqualTo(newEpoch);
            assertThat(RawDevice.oplogs(after)).extracting(o -> o.getId() + ":" + o.getPayload())
                    .containsExactly("1:a 1", "2:a 2", "3:a 3");

            // the next push continues the ids on the new timeline, once
            phone.ack(ORDERS, ScopeKind.USER, newEpoch, 3);
            push(1, "b ");
            assertThat(RawDevice.oplogs(phone.untilOplogs(1))).extracting(o -> o.getId() + ":" + o.getPayload())
                    .containsExactly("4:b 1");
        }
        assertThat(metrics()).contains("mss_full_updates_total{reason=\"epoch\"}")
                .as("nothing in doubt on this node").contains("mss_store_commits_in_doubt_pending 0.0")
                .contains("mss_store_commits_in_doubt_total{outcome=\"new_timeline\"} 0.0");
    }
}
