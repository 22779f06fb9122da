package io.mss.client.internal;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs test steps on a {@link StateLoop}'s thread, where the pieces under test insist on running. */
final class OnStateThread {
    private OnStateThread() {
    }

    static <T> T call(StateLoop loop, Callable<T> step) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        loop.post(() -> {
            try {
                result.complete(step.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result.get(10, TimeUnit.SECONDS);
    }

    static void run(StateLoop loop, Runnable step) throws Exception {
        call(loop, () -> {
            step.run();
            return null;
        });
    }

    /** A connection object as the state thread sees it after a Welcome; never started. */
    static Connection welcomed(String sessionUserId, int version) {
        ClientConfig config = new ClientConfig();
        Connection c = new Connection(1, sessionUserId, config, null, null);
        c.helloSent = true;
        c.welcomed = true;
        c.version = version;
        c.sessionUserId = sessionUserId;
        return c;
    }
}
