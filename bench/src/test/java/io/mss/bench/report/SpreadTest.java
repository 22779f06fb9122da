package io.mss.bench.report;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SpreadTest {

    @Test
    void theMedianOfAnOddCountIsTheMiddleValue() {
        Spread spread = Spread.of(List.of(9.0, 1.0, 4.0));

        assertThat(spread).isEqualTo(new Spread(4.0, 1.0, 9.0, 3));
    }

    @Test
    void theMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        assertThat(Spread.of(List.of(4.0, 1.0, 2.0, 100.0)).median()).isEqualTo(3.0);
    }

    @Test
    void noValuesNoSpread() {
        assertThat(Spread.of(List.of())).isNull();
    }

    @Test
    void describesOneRunByItsValueAndSeveralByMedianAndRange() {
        assertThat(Spread.of(List.of(2.0)).describe(v -> String.valueOf((int) v))).isEqualTo("2");
        assertThat(Spread.of(List.of(3.0, 1.0, 2.0)).describe(v -> String.valueOf((int) v))).isEqualTo("2 (1–3)");
    }
}
