package io.mss.bench.targets;

import io.mss.bench.measure.ProcessStats;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ClusterServicesTest {

    @Test
    void namesEveryServiceThatDoesNotAnswerSoTheScenarioCanBeSkippedWithAMessage() throws IOException {
        int closed = closedPort();
        ClusterServices services = new ClusterServices("jdbc:postgresql://127.0.0.1:" + closed + "/test", "postgres",
                "redis://127.0.0.1:" + closed);

        assertThat(services.unreachable()).hasValueSatisfying(problem -> assertThat(problem)
                .contains("PostgreSQL at jdbc:postgresql://127.0.0.1:" + closed)
                .contains("Redis at redis://127.0.0.1:" + closed + " is not reachable"));
    }

    @Test
    void eachRunsConnectionsCarryItsOwnApplicationName() {
        ClusterServices plain = new ClusterServices("jdbc:postgresql://db:5432/test", "postgres", "redis://cache:6379");
        ClusterServices withOptions = new ClusterServices("jdbc:postgresql://db:5432/test?ssl=false", "postgres",
                "redis://cache");

        assertThat(plain.postgresUrlFor("bench_1_1")).isEqualTo("jdbc:postgresql://db:5432/test?ApplicationName=bench_1_1");
        assertThat(withOptions.postgresUrlFor("bench_1_1"))
                .isEqualTo("jdbc:postgresql://db:5432/test?ssl=false&ApplicationName=bench_1_1");
        assertThat(withOptions.redisPort()).isEqualTo(6379);
        assertThat(ClusterServices.freshName()).matches("bench_\\d+_\\d+").isNotEqualTo(ClusterServices.freshName());
    }

    @Test
    void theFiguresOfSeveralProcessesAreSummed() {
        long self = ProcessHandle.current().pid();
        ProcessStats one = new ProcessStats(self);
        ProcessStats twice = new ProcessStats(List.of(self, self));

        double cpu = one.cpuSeconds();
        long rss = one.rssBytes();

        // CPU time only grows, so the sum read after the single figure is at least twice it; RSS may move a little
        assertThat(twice.cpuSeconds()).isGreaterThanOrEqualTo(2 * cpu);
        assertThat(twice.rssBytes()).isGreaterThan(2 * rss - (64L << 20));
    }

    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort(); // free once closed: nothing listens there
        }
    }
}
