package io.mss.bench.measure;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CpuUseTest {

    @Test
    void theGeneratorIsBoundAboveEightyFivePercentOfItsCores() {
        assertThat(CpuUse.isGeneratorBound(86, 1)).isTrue();
        assertThat(CpuUse.isGeneratorBound(85, 1)).isFalse();
        assertThat(CpuUse.isGeneratorBound(150, 2)).isFalse(); // 75 % of two cores
        assertThat(CpuUse.isGeneratorBound(171, 2)).isTrue();
    }

    @Test
    void measuresThisProcessAgainstItself() {
        ProcessStats self = new ProcessStats(ProcessHandle.current().pid());
        CpuUse use = new CpuUse(self, self, 1);
        long until = System.nanoTime() + 300_000_000L;
        long spin = 0;
        while (System.nanoTime() < until) {
            spin++; // busy on purpose: CPU time to measure
        }

        assertThat(spin).isPositive();
        assertThat(use.generatorSeconds()).isGreaterThan(0);
        assertThat((Double) use.figures().get("generatorCpuPercent")).isGreaterThan(0);
    }
}
