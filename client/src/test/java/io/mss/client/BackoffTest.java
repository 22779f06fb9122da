package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mss.client.internal.Backoff;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {
    /** A Random whose nextDouble is fixed, to hit the ends of the jitter range. */
    private static Random fixed(double value) {
        return new Random() {
            private static final long serialVersionUID = 1L;

            @Override
            public double nextDouble() {
                return value;
            }
        };
    }

    private static List<Long> delays(Backoff backoff, int n) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(backoff.nextDelayMillis());
        }
        return out;
    }

    @Test
    void lowestJitterIsAlwaysMin() {
        assertThat(delays(new Backoff(500, 30_000, fixed(0.0)), 10)).containsOnly(500L);
    }

    @Test
    void highestJitterFollowsTheDoublingCapUpToMax() {
        Backoff backoff = new Backoff(500, 30_000, fixed(Math.nextDown(1.0)));

        assertThat(delays(backoff, 9))
                .containsExactly(1_000L, 2_000L, 4_000L, 8_000L, 16_000L, 30_000L, 30_000L, 30_000L, 30_000L);
    }

    @Test
    void randomDelaysStayWithinMinAndTheCurrentCap() {
        Backoff backoff = new Backoff(100, 5_000, new Random(42));
        long previousCap = 100;
        for (int i = 0; i < 1_000; i++) {
            long delay = backoff.nextDelayMillis();
            long cap = backoff.currentCapMillis();
            assertThat(cap).isEqualTo(Math.min(5_000, previousCap * 2));
            assertThat(delay).isBetween(100L, cap);
            previousCap = cap;
        }
    }

    @Test
    void resetGoesBackToMin() {
        Backoff backoff = new Backoff(500, 30_000, fixed(Math.nextDown(1.0)));
        delays(backoff, 20);
        assertThat(backoff.currentCapMillis()).isEqualTo(30_000);

        backoff.reset();

        assertThat(backoff.currentCapMillis()).isEqualTo(500);
        assertThat(backoff.nextDelayMillis()).isEqualTo(1_000);
    }

    @Test
    void minEqualToMaxIsAConstantDelay() {
        assertThat(delays(new Backoff(250, 250, new Random(1)), 5)).containsOnly(250L);
    }

    @Test
    void hugeMaxDoesNotOverflow() {
        Backoff backoff = new Backoff(1, Long.MAX_VALUE, fixed(Math.nextDown(1.0)));
        for (int i = 0; i < 100; i++) {
            assertThat(backoff.nextDelayMillis()).isPositive();
        }
        assertThat(backoff.currentCapMillis()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void rejectsBadBounds() {
        assertThatThrownBy(() -> new Backoff(0, 10, new Random())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Backoff(10, 5, new Random())).isInstanceOf(IllegalArgumentException.class);
    }
}
