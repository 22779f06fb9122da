package io.mss.e2e;

import io.mss.protocol.v1.ServerFrame;
import io.mss.server.config.ServerConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Stream identity on the embedded store; also a data dir swapped for an older copy of itself. */
class RocksDbStreamIdentityTest extends StreamIdentityContract {
    private Path current;

    @Override
    Path dataDir() {
        return current != null ? current : tmp.resolve("data");
    }

    @Override
    void configure(ServerConfig config) {
        config.store = "rocksdb";
    }

    @Override
    void wipeStore() {
        current = tmp.resolve("fresh-" + System.nanoTime());
    }

    @Test
    void aDataDirSwappedForAnOlderCopyIsToldFullUpdateAndGetsEveryLaterPushOnce() throws Exception {
        push(10, "before backup ");
        long epoch = syncedPhone(10);
        server.close();
        Path backup = tmp.resolve("backup");
        TreeFiles.copy(dataDir(), backup);
        server = TestServer.start(dataDir(), this::configure);
        push(20, "after backup ");
        try (RawDevice phone = connect("phone", "alice", 2, orders(epoch, 10))) {
            List<ServerFrame> got = phone.catchUp();
            assertThat(RawDevice.ids(got)).startsWith(11L).endsWith(30L).hasSize(20);
            phone.ack(ORDERS, io.mss.protocol.v1.ScopeKind.USER, epoch, 30);
        }
        server.close();
        server = null;
        current = backup;
        server = TestServer.start(dataDir(), this::configure);
        push(2, "after restore ");
        // the phone is at 30; the restored store's timeline ends at 12
        try (RawDevice phone = connect("phone", "alice", 2, orders(epoch, 30))) {
            List<ServerFrame> got = phone.catchUp();
            assertThat(onlyRestart(got).getDetail()).contains("above");
            assertThat(RawDevice.oplogs(got)).extracting(o -> o.getPayload()).hasSize(12)
                    .endsWith("after restore 1", "after restore 2");
            assertThat(RawDevice.ids(got)).startsWith(1L).endsWith(12L);
        }
    }

    /** A copy put back by hand, then {@code ./mss new-timelines}: a device ahead is told FULL_UPDATE however far the head grew. */
    @Test
    void aCopyPutBackByHandAndNewTimelinesIsNoticedEvenAfterTheHeadGrewPastTheDevice() throws Exception {
        push(10, "before backup ");
        long epoch = syncedPhone(10);
        server.close();
        Path backup = tmp.resolve("backup");
        TreeFiles.copy(dataDir(), backup);
        server = TestServer.start(dataDir(), this::configure);
        push(20, "after backup ");
        server.close();
        server = null;
        current = backup;
        CliRun refreshed = CliRun.run(tmp, "new-timelines", "--data-dir", backup.toString());
        assertThat(refreshed.exitCode()).as(refreshed.stderr()).isZero();
        server = TestServer.start(dataDir(), this::configure);
        // the restored timeline grows past where the phone (at 30 on the lost history) stands
        push(25, "after restore ");
        try (RawDevice phone = connect("phone", "alice", 2, orders(epoch, 30))) {
            List<ServerFrame> got = phone.catchUp();
            assertThat(onlyRestart(got).getEpoch()).isNotEqualTo(epoch);
            assertThat(RawDevice.ids(got)).hasSize(35).startsWith(1L).endsWith(35L);
        }
        // on a running node's data dir it refuses, in one line
        CliRun refused = CliRun.run(tmp, "new-timelines", "--data-dir", backup.toString());
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.stderr()).doesNotContain("\tat ");
    }

}
