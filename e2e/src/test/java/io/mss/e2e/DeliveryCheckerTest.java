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

    @Test
    void aRestartStartsANewPassThatMustBeWholeAndCorrect() {
        DeliveryChecker checker = new DeliveryChecker();
        for (long id = 1; id <= 3; id++) {
            checker.acknowledged(S, id, "p" + id);
        }
        checker.delivered("d1", S, 1, "p1");
        checker.delivered("d1", S, 2, "p2");
        checker.delivered("d1", S, 3, "phantom"); // an oplog the server no longer has
        assertThat(checker.caughtUp("d1", S)).as("a wrong payload is not caught up").isFalse();
        checker.restarted("d1", S);
        checker.delivered("d1", S, 1, "p1");
        checker.delivered("d1", S, 2, "p2");
        assertThat(checker.caughtUp("d1", S)).isFalse();
        DeliveryChecker.Report partial = checker.check(Map.of("d1", List.of(S)));
        assertThat(partial.lost).as("3 is missing from the pass after the restart").isEqualTo(1);
        assertThat(partial.corrupted).as("the phantom came before the restart").isZero();
        checker.delivered("d1", S, 3, "p3");
        DeliveryChecker.Report report = checker.check(Map.of("d1", List.of(S)));
        assertThat(report.cleanAcrossRestarts()).as(report.toString()).isTrue();
        assertThat(report.clean()).as("a restart is not clean where none is expected").isFalse();
        assertThat(report.restarts).isEqualTo(1);
        assertThat(checker.caughtUp("d1", S)).isTrue();
    }

    @Test
    void withinAPassAfterARestartDuplicatesAndWrongPayloadsStillCount() {
        DeliveryChecker checker = new DeliveryChecker();
        checker.acknowledged(S, 1, "p1");
        checker.acknowledged(S, 2, "p2");
        checker.delivered("d1", S, 1, "p1");
        checker.restarted("d1", S);
        checker.delivered("d1", S, 1, "p1");
        checker.delivered("d1", S, 1, "p1");
        checker.delivered("d1", S, 2, "XX");
        DeliveryChecker.Report report = checker.check(Map.of("d1", List.of(S)));
        assertThat(report.duplicated).isEqualTo(1);
        assertThat(report.corrupted).isEqualTo(1);
    }
}
