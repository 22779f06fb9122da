package io.mss.client.internal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The state thread: who may touch state, in what order callbacks leave it, and what a failing task costs. */
class StateLoopTest {
    private final ExecutorService callbackThread = Executors.newSingleThreadExecutor(r -> new Thread(r, "callbacks"));
    private final StateLoop loop = new StateLoop("mss-client-state-test", callbackThread);

    @AfterEach
    void stop() throws Exception {
        loop.shutdown();
        loop.awaitTermination(5_000);
        callbackThread.shutdownNow();
    }

    @Test
    void stateIsTouchedOnTheStateThreadOnly() throws Exception {
        OnStateThread.run(loop, () -> { }); // the thread exists once a task ran
        assertThatThrownBy(loop::checkThread).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not on its state thread");
        assertThat(loop.onStateThread()).isFalse();
        assertThat(OnStateThread.call(loop, () -> {
            loop.checkThread();
            return loop.onStateThread();
        })).isTrue();
        assertThatThrownBy(() -> loop.dispatch(() -> { })).as("dispatching is state-thread work too")
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aTasksCallbacksLeaveAfterItsHookInTheOrderDispatched() throws Exception {
        List<String> order = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(3);
        loop.setBeforeCallbacks(() -> order.add("hook on " + Thread.currentThread().getName()));
        loop.post(() -> {
            for (int i = 1; i <= 3; i++) {
                int n = i;
                loop.dispatch(() -> {
                    order.add("callback " + n + " on " + Thread.currentThread().getName());
                    done.countDown();
                });
            }
            order.add("task");
        });
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        // the hook (the inbox write) comes before any callback of the task can run
        assertThat(order).containsExactly("task", "hook on mss-client-state-test", "callback 1 on callbacks",
                "callback 2 on callbacks", "callback 3 on callbacks");
    }

    @Test
    void aTaskThatThrowsKillsNeitherTheThreadNorAPeriodicTimer() throws Exception {
        CountDownLatch ticks = new CountDownLatch(3);
        loop.scheduleAtFixedRate(() -> {
            ticks.countDown();
            throw new IllegalStateException("a bug in one tick");
        }, 10);
        loop.post(() -> {
            throw new IllegalStateException("a bug in one task");
        });
        assertThat(ticks.await(5, TimeUnit.SECONDS)).as("the timer goes on after a tick threw").isTrue();
        assertThat(OnStateThread.call(loop, () -> "still running")).isEqualTo("still running");
    }

    @Test
    void postsFromCallbacksRunInTheirOrderAndNothingRunsAfterShutdown() throws Exception {
        List<Integer> order = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        Thread callback = new Thread(() -> {
            for (int i = 0; i < 1_000; i++) {
                int n = i;
                loop.postFromCallback(() -> order.add(n));
            }
            loop.postFromCallback(done::countDown);
        });
        callback.start();
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(order).hasSize(1_000).isSorted();

        loop.shutdown();
        assertThat(loop.awaitTermination(5_000)).isTrue();
        assertThat(loop.tryPost(() -> order.add(-1))).isFalse();
        loop.postFromCallback(() -> order.add(-2));
        assertThat((Object) loop.schedule(() -> order.add(-3), 1)).isNull();
        assertThat(order).hasSize(1_000);
    }
}
