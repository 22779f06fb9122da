package io.mss.client.internal;

import io.mss.client.UpstreamReply;
import io.mss.client.UpstreamTimeoutException;
import io.mss.client.internal.proto.ClientFrame;
import io.mss.client.internal.proto.UpstreamMessage;
import io.mss.client.internal.proto.UpstreamResult;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.function.BiConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Upstream messages (device to server) waiting for their answer: each is sent once per
 * connection, again with the same id on each new one (the server answers a repeat once), and
 * fails with {@link UpstreamTimeoutException} when no answer came within the timeout, connected
 * or not. Futures complete on the callback executor, so that the app's dependent stages never run
 * on the state thread. State thread only, except {@link #newRequest}.
 */
final class UpstreamRequests {
    private static final Logger LOG = Logger.getLogger("io.mss.client");

    /** One message without an answer yet. */
    static final class Request {
        final String id;
        final String bizType;
        final String payload;
        final CompletableFuture<UpstreamReply> future = new CompletableFuture<>();
        ScheduledFuture<?> timeout;
        /** The connection it was last sent on. */
        Connection sentOn;

        Request(String id, String bizType, String payload) {
            this.id = id;
            this.bizType = bizType;
            this.payload = payload;
        }
    }

    private final StateLoop loop;
    private final long timeoutMillis;
    private final Executor callbackExecutor;
    private final BiConsumer<Connection, ClientFrame> send;
    /** In the order they were sent. */
    private final Map<String, Request> pending = new LinkedHashMap<>();

    /** @param send writes a frame on a connection (the connection manager's send, which handles write failures) */
    UpstreamRequests(StateLoop loop, long timeoutMillis, Executor callbackExecutor,
                     BiConsumer<Connection, ClientFrame> send) {
        this.loop = loop;
        this.timeoutMillis = timeoutMillis;
        this.callbackExecutor = callbackExecutor;
        this.send = send;
    }

    /** Any thread. */
    static Request newRequest(String bizType, String payload) {
        return new Request(UUID.randomUUID().toString(), bizType, payload);
    }

    /** Starts the timeout and sends it now if {@code welcomed} is not null. */
    void add(Request r, Connection welcomed) {
        loop.checkThread();
        pending.put(r.id, r);
        r.timeout = loop.schedule(() -> timedOut(r), timeoutMillis);
        if (welcomed != null) {
            sendOn(welcomed, r);
        }
    }

    /** A new session: everything unanswered, again with its id, in order. */
    void resend(Connection c, java.util.function.BooleanSupplier stillCurrent) {
        loop.checkThread();
        for (Request r : new ArrayList<>(pending.values())) {
            if (!stillCurrent.getAsBoolean()) {
                return;
            }
            sendOn(c, r);
        }
    }

    private void sendOn(Connection c, Request r) {
        if (r.sentOn == c) {
            return;
        }
        r.sentOn = c;
        send.accept(c, ClientFrame.newBuilder().setUpstream(UpstreamMessage.newBuilder()
                .setClientMsgId(r.id)
                .setBizType(r.bizType)
                .setPayload(r.payload)).build());
    }

    void answered(UpstreamResult result) {
        loop.checkThread();
        Request r = pending.remove(result.getClientMsgId());
        if (r == null) {
            if (LOG.isLoggable(Level.FINE)) {
                LOG.fine("an answer to upstream message " + result.getClientMsgId() + " that is no longer waited for");
            }
            return;
        }
        cancelTimeout(r);
        complete(r, new UpstreamReply(result.getClientMsgId(), result.getSuccess(), result.getCode(),
                result.getPayload(), result.getMessage()), null);
    }

    /** The app gave up on the answer: it is not resent. */
    void forget(Request r) {
        loop.checkThread();
        if (pending.remove(r.id, r)) {
            cancelTimeout(r);
        }
    }

    int size() {
        return pending.size();
    }

    /** Every waiting future fails with {@code error}. */
    void failAll(Throwable error) {
        loop.checkThread();
        for (Request r : new ArrayList<>(pending.values())) {
            cancelTimeout(r);
            complete(r, null, error);
        }
        pending.clear();
    }

    void fail(Request r, Throwable error) {
        complete(r, null, error);
    }

    private void timedOut(Request r) {
        if (pending.remove(r.id, r)) {
            r.timeout = null;
            complete(r, null, new UpstreamTimeoutException(r.id, timeoutMillis));
        }
    }

    private static void cancelTimeout(Request r) {
        if (r.timeout != null) {
            r.timeout.cancel(false);
            r.timeout = null;
        }
    }

    private void complete(Request r, UpstreamReply reply, Throwable error) {
        Runnable complete = () -> {
            if (error != null) {
                r.future.completeExceptionally(error);
            } else {
                r.future.complete(reply);
            }
        };
        try {
            callbackExecutor.execute(complete);
        } catch (RejectedExecutionException e) {
            complete.run();
        }
    }
}
