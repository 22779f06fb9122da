package io.mss.e2e;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The checker must catch what it exists to catch, or every test using it proves nothing. */
class DeliveryCheckerTest {
    private static final String S = DeliveryChecker.scope("ORDER", "USER", "u1");

    @Test
    void cleanWhenEverythingArrivesOnceInOrder() {
        DeliveryChecker checker = new DeliveryChecker();
        for (long id = 1; id <= 3; id++) {
            checker.acknowledged(S, id, "p" + id);
            checker.delivered("d1", S, id, "p" + id);
        }
        DeliveryChecker.Report report = checker.check(Map.of("d1", List.of(S)));
        assertThat(report.clean()).as(report.toString()).isTrue();
        assertThat(report.delivered).isEqualTo(3);
    }

    @Test
    void findsLostDuplicatedMisorderedAndCorrupted() {
        DeliveryChecker checker = new DeliveryChecker();
        for (long id = 1; id <= 5; id++) {
            checker.acknowledged(S, id, "p" + id);
        }
        checker.delivered("d1", S, 1, "p1");
        checker.delivered("d1", S, 3, "p3");
        checker.delivered("d1", S, 2, "p2");   // misordered
        checker.delivered("d1", S, 3, "p3");   // duplicated
        checker.delivered("d1", S, 4, "XX");   // corrupted; 5 is lost
        DeliveryChecker.Report report = checker.check(Map.of("d1", List.of(S)));
        assertThat(report.lost).isEqualTo(1);
        assertThat(report.duplicated).isEqualTo(1);
        assertThat(report.misordered).isEqualTo(1);
        assertThat(report.corrupted).isEqualTo(1);
        assertThat(report.clean()).isFalse();
    }

    @Test
    void aDeviceThatSawNothingLostEverything() {
        DeliveryChecker checker = new DeliveryChecker();
        checker.acknowledged(S, 1, "p1");
        assertThat(checker.check(Map.of("d2", List.of(S))).lost).isEqualTo(1);
        assertThat(checker.caughtUp("d2", S)).isFalse();
    }
}
