package io.mss.bench.measure;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ProcessStatsTest {

    @Test
    void readsG1sHeapFromJcmd() {
        String g1 = """
                12345:
                 garbage-first heap   total 262144K, used 10240K [0x0000000700000000, 0x0000000800000000)
                  region size 1024K, 3 young (3072K), 0 survivors (0K)
                 Metaspace       used 8920K, committed 9088K, reserved 1114112K
                """;

        assertThat(ProcessStats.heapUsed(g1)).isEqualTo(10240L * 1024);
    }

    @Test
    void sumsSerialsGenerationsFromJcmd() {
        // the pinned MSS JVM runs the Serial collector: the heap is the young plus the tenured generation
        String serial = """
                17833:
                 def new generation   total 116160K, used 20659K [0x0000000687400000, 0x000000068f200000, 0x0000000704d50000)
                  eden space 103296K,  20% used [0x0000000687400000, 0x000000068882cf60, 0x000000068d8e0000)
                 tenured generation   total 258048K, used 1000K [0x0000000704d50000, 0x0000000714950000, 0x0000000800000000)
                 Metaspace       used 8920K, committed 9088K, reserved 1114112K
                """;

        assertThat(ProcessStats.heapUsed(serial)).isEqualTo((20659L + 1000) * 1024);
    }

    @Test
    void noHeapInTheOutputIsNoFigure() {
        assertThat(ProcessStats.heapUsed("12345: Unable to open socket file")).isEqualTo(-1);
    }
}
