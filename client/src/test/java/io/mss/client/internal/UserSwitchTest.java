package io.mss.client.internal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** The signed-in user as the app sees it at once, and as the state thread follows it. */
class UserSwitchTest {
    private final StateLoop loop = new StateLoop("mss-client-state-test", Runnable::run);
    private final List<String> changes = new CopyOnWriteArrayList<>();
    private final UserSwitch users = new UserSwitch(loop, (reason, userChanged) -> changes.add(reason + "/" + userChanged));

    @AfterEach
    void stop() throws Exception {
        loop.shutdown();
        loop.awaitTermination(5_000);
    }

    @Test
    void eachChangeIsToldOnceWithWhatChanged() throws Exception {
        users.request("alice", "s1");
        users.request("alice", "s1"); // the same again: nothing to tell
        users.request("alice", "s2");
        users.request("bob", "s2");
        users.request(null, "");
        assertThat(OnStateThread.call(loop, users::userId)).isNull();
        assertThat(changes).containsExactly("user changed/true", "user session changed/false", "user changed/true",
                "user signed out/true");
    }

    @Test
    void aMessageOfAliceIsHeldBackTheMomentTheAppSwitchesEvenBeforeTheStateThreadKnows() throws Exception {
        users.request("alice", "s1");
        assertThat(OnStateThread.call(loop, users::userId)).isEqualTo("alice");
        ScopeKey alices = ScopeKey.user("ORDERS", "alice");
        assertThat(OnStateThread.call(loop, () -> users.deliverable(alices))).isTrue();

        // the state thread is busy; the app switches to bob meanwhile
        java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(1);
        loop.post(() -> {
            try {
                busy.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        users.request("bob", "s2");
        assertThat(users.stillSignedIn(alices)).as("checked right before alice's callback").isFalse();
        assertThat(users.stillSignedIn(ScopeKey.user("ORDERS", "bob"))).isTrue();
        assertThat(users.stillSignedIn(ScopeKey.device("ORDERS"))).as("not a USER scope").isTrue();
        assertThat(users.visibleToApp(alices)).isFalse();
        busy.countDown();
        // the state thread followed: alice's scope is not dispatched any more either
        assertThat(OnStateThread.call(loop, () -> users.userId() + " " + users.deliverable(alices)))
                .isEqualTo("bob false");
    }
}
