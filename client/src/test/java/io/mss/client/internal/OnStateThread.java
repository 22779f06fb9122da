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

    /** A client config that names a server nobody runs: for pieces that never connect. */
    static ClientConfig offlineConfig() {
        ClientConfig config = new ClientConfig();
        config.host = "127.0.0.1";
        config.port = 1;
        config.deviceId = "phone-1";
        config.tokenProvider = (deviceId, userId) -> "token";
        config.insecureTrustAll = true;
        return config;
    }

    /** A connection manager that is never started: for pieces that only need one to exist. */
    static ConnectionManager neverStarted(StateLoop loop, ClientConfig config, java.util.function.BooleanSupplier closing,
                                          ConnectionManager.Session session) {
        return new ConnectionManager(loop, config, Tls.from(config), new Backoff(20, 80, new java.util.Random(1)), closing,
                session);
    }

    /** An ack flusher whose Acks go to {@code sent}, as if over the connection {@code welcomed} names. */
    static AckFlusher flusher(StateLoop loop, SyncPointStore store, java.util.function.Supplier<Connection> welcomed,
                              java.util.List<io.mss.client.internal.proto.Ack> sent) {
        return new AckFlusher(loop, store, false, new AckFlusher.Sink() {
            @Override
            public Connection welcomed() {
                return welcomed.get();
            }

            @Override
            public void sendAck(Connection c, io.mss.client.internal.proto.Ack ack) {
                sent.add(ack);
            }
        });
    }

    /** Closes the pump (when there is one) and the inbox on the state thread, then ends both threads. */
    static void shutDown(StateLoop loop, DeliveryPump pump, Inbox inbox,
                         java.util.concurrent.ExecutorService callbackThread) throws Exception {
        run(loop, () -> {
            if (pump != null) {
                pump.close();
            }
            try {
                inbox.close();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        loop.shutdown();
        callbackThread.shutdown();
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
