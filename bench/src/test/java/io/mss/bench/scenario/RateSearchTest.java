package io.mss.bench.scenario;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.IntPredicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RateSearchTest {

    /** Runs the search against a target that passes every rate the predicate accepts; returns the rates tried. */
    private static List<Integer> search(RateSearch search, IntPredicate passes) {
        List<Integer> tried = new ArrayList<>();
        for (OptionalInt rate = search.next(); rate.isPresent(); rate = search.next()) {
            tried.add(rate.getAsInt());
            search.record(rate.getAsInt(), passes.test(rate.getAsInt()));
        }
        return tried;
    }

    @Test
    void doublesUntilAStepFailsThenClimbsFromTheLastPassingRateInQuarterSteps() {
        RateSearch search = new RateSearch(500, 32_000);

        List<Integer> tried = search(search, rate -> rate <= 11_000);

        assertThat(tried).containsExactly(500, 1_000, 2_000, 4_000, 8_000, 16_000, 10_000, 12_500);
        assertThat(search.best()).isEqualTo(10_000);
        assertThat(search.lowestFailed()).isEqualTo(12_500);
        assertThat(search.capped()).isFalse();
    }

    @Test
    void stopsTheFineClimbBeforeReachingTheFailedCoarseRate() {
        RateSearch search = new RateSearch(500, 32_000);

        List<Integer> tried = search(search, rate -> rate < 16_000);

        // 8,000 × 1.25³ = 15,625 passes; × 1.25 again would be 19,531, past the failed 16,000
        assertThat(tried).endsWith(8_000, 16_000, 10_000, 12_500, 15_625);
        assertThat(search.best()).isEqualTo(15_625);
    }

    @Test
    void endsWithinAQuarterOfTheCeilingWhereverItIs() {
        for (int ceiling = 70; ceiling < 40_000; ceiling = ceiling * 11 / 10) {
            int real = ceiling;
            RateSearch search = new RateSearch(500, 32_000);

            search(search, rate -> rate <= real);

            if (search.capped()) {
                assertThat(real).isGreaterThanOrEqualTo(32_000);
            } else {
                assertThat(search.best()).as("ceiling %d", real).isLessThanOrEqualTo(real)
                        .isGreaterThanOrEqualTo((int) (real / 1.25));
                assertThat(search.lowestFailed()).isGreaterThan(real);
            }
        }
    }

    @Test
    void aPassingCapEndsTheSearchAndSaysSo() {
        RateSearch search = new RateSearch(100, 200);

        assertThat(search(search, rate -> true)).containsExactly(100, 200);
        assertThat(search.best()).isEqualTo(200);
        assertThat(search.capped()).isTrue();
        assertThat(search.lowestFailed()).isEqualTo(-1);
    }

    @Test
    void aCoarseStepNeverPassesTheCap() {
        RateSearch search = new RateSearch(500, 3_000);

        assertThat(search(search, rate -> true)).containsExactly(500, 1_000, 2_000, 3_000);
    }

    @Test
    void halvesWhenTheFirstRateFailsThenClimbsBackTowardsIt() {
        RateSearch search = new RateSearch(500, 32_000);

        List<Integer> tried = search(search, rate -> rate <= 400);

        assertThat(tried).containsExactly(500, 250, 313, 391, 489);
        assertThat(search.best()).isEqualTo(391);
    }

    @Test
    void givesUpBelowAnEighthOfTheStartRate() {
        RateSearch search = new RateSearch(500, 32_000);

        assertThat(search(search, rate -> false)).containsExactly(500, 250, 125, 62);
        assertThat(search.best()).isZero();
    }

    @Test
    void smallRatesStillMoveUpByAtLeastOne() {
        RateSearch search = new RateSearch(2, 64);

        assertThat(search(search, rate -> rate <= 3)).containsExactly(2, 4, 3);
        assertThat(search.best()).isEqualTo(3);
    }

    @Test
    void refusesAnOutcomeForARateItDidNotAskFor() {
        RateSearch search = new RateSearch(500, 32_000);

        assertThatThrownBy(() -> search.record(1_000, true)).isInstanceOf(IllegalStateException.class);
    }
}
