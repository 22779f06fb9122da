package io.mss.server.cluster;

import io.mss.server.metrics.MssMetrics;
import io.mss.server.store.Scope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Two buses on the machine's Redis ({@code MSS_TEST_REDIS_URI}), under a cluster name of this run's own. */
class RedisBusTest {
    private static final String URI = System.getenv().getOrDefault("MSS_TEST_REDIS_URI", "redis://127.0.0.1:6379");
    private final String cluster = "bus-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    private RedisBus a;
    private RedisBus b;

    @AfterEach
    void close() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    private RedisBus connect(String nodeId, int connections) {
        long started = System.currentTimeMillis();
        return RedisBus.connect(URI, cluster, nodeId, () -> new NodeInfo(nodeId, "127.0.0.1:7443",
                "127.0.0.1:7080", started, System.currentTimeMillis(), connections), Duration.ofSeconds(1), new MssMetrics());
    }

    @Test
    void headsAndConfigChangesReachTheOtherNodesButNotTheSender() {
        a = connect("a", 1);
        b = connect("b", 2);
        List<String> seenByA = new CopyOnWriteArrayList<>();
        List<String> seenByB = new CopyOnWriteArrayList<>();
        a.onAdvanced((scope, id) -> seenByA.add(scope + "=" + id));
        b.onAdvanced((scope, id) -> seenByB.add(scope + "=" + id));
        b.onConfigChanged(bizType -> seenByB.add("config " + bizType));

        Scope odd = Scope.user("CHAT", "al|ice with spaces");
        a.advanced(Map.of(odd, 42L));
        a.advanced(Map.of(Scope.global("NEWS"), 7L, Scope.device("ALERT", "phone-1"), 3L));
        a.configChanged("CHAT");

        await().atMost(Duration.ofSeconds(10)).until(() -> seenByB.size() == 4);
        assertThat(seenByB).containsExactlyInAnyOrder("CHAT|U|al|ice with spaces=42", "NEWS|G|=7",
                "ALERT|D|phone-1=3", "config CHAT");
        assertThat(seenByB.get(0)).isEqualTo("CHAT|U|al|ice with spaces=42");
        assertThat(seenByA).isEmpty();
        assertThat(a.healthy()).isTrue();
    }

    @Test
    void nodesAnnounceThemselvesAndWithdrawOnClose() {
        a = connect("a", 5);
        b = connect("b", 0);
        assertThat(a.nodes()).extracting(NodeInfo::nodeId).containsExactly("a", "b");
        assertThat(b.nodes().get(0).connections()).isEqualTo(5);
        b.close();
        b = null;
        assertThat(a.nodes()).extracting(NodeInfo::nodeId).containsExactly("a");
    }

    @Test
    void anUnreachableRedisFailsTheStartClearly() {
        assertThatThrownBy(() -> RedisBus.connect("redis://127.0.0.1:1", cluster, "x",
                () -> new NodeInfo("x", "", "", 0, 0, 0), Duration.ofSeconds(1), new MssMetrics()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("could not connect to Redis at redis://127.0.0.1:1");
    }
}
