package io.mss.client.internal;

import io.mss.client.MessageCallback;
import io.mss.client.MssClient;
import io.mss.client.SyncMessage;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Hands the inbox's messages to the app's callbacks: per scope the head message, one attempt at a
 * time, in id order; the next one once the app acked (or the message was dropped). An attempt
 * that throws or is not acked within the ack timeout is retried after a doubling delay, up to
 * {@link MssClient#MAX_DELIVERY_ATTEMPTS} counted in the inbox before each call (so that they
 * survive the app's process dying inside the callback); then the message is dropped and the
 * callback's {@code onMessageDropped} told. State thread, except {@link #run} and
 * {@link #reportAcked}, which run on the callback thread and post back.
 */
final class DeliveryPump {
    private static final Logger LOG = Logger.getLogger("io.mss.client");

    /** One attempt to hand a message to its callback. */
    static final class Delivery {
        final ScopeKey key;
        final SyncMessage message;
        final int attempt;
        final MessageCallback callback;
        /** Set on the state thread when this attempt is over; read by the callback thread. */
        volatile boolean cancelled;
        /** Set by the callback thread when the callback starts (System.nanoTime, never 0). */
        volatile long startedNanos;
        /** State thread: the ack timeout, armed at dispatch, counting from the callback's start. */
        ScheduledFuture<?> timeout;

        Delivery(ScopeKey key, SyncMessage message, int attempt, MessageCallback callback) {
            this.key = key;
            this.message = message;
            this.attempt = attempt;
            this.callback = callback;
        }

        @Override
        public String toString() {
            return message + " attempt " + attempt + "/" + MssClient.MAX_DELIVERY_ATTEMPTS;
        }
    }

    private final StateLoop loop;
    private final Inbox inbox;
    private final ClientConfig config;
    /** The registered callbacks, owned by the client; read here on the state thread. */
    private final Map<String, MessageCallback> callbacks;
    private final UserSwitch users;
    private final BooleanSupplier closing;
    /** Told whenever messages left the inbox: the client may take frames again. */
    private final Runnable removed;
    /** At most one attempt per scope is with the callback. */
    private final Map<ScopeKey, Delivery> inFlight = new HashMap<>();
    /** Scopes whose head message waits for its next attempt. */
    private final Map<ScopeKey, ScheduledFuture<?>> retryTimers = new HashMap<>();

    DeliveryPump(StateLoop loop, Inbox inbox, ClientConfig config, Map<String, MessageCallback> callbacks,
                 UserSwitch users, BooleanSupplier closing, Runnable removed) {
        this.loop = loop;
        this.inbox = inbox;
        this.config = config;
        this.callbacks = callbacks;
        this.users = users;
        this.closing = closing;
        this.removed = removed;
    }

    void pumpAll() {
        for (ScopeKey key : inbox.pendingScopes()) {
            pump(key);
        }
    }

    /** Hands the head of the scope to its callback when nothing holds it back. */
    void pump(ScopeKey key) {
        loop.checkThread();
        while (!closing.getAsBoolean() && !inFlight.containsKey(key) && !retryTimers.containsKey(key)) {
            Inbox.Entry head = inbox.head(key);
            MessageCallback callback = head == null ? null : callbacks.get(key.bizType());
            // without a callback it waits in the inbox; USER messages wait for their user
            if (callback == null || !users.deliverable(key)) {
                return;
            }
            if (head.attempts() >= MssClient.MAX_DELIVERY_ATTEMPTS) {
                drop(key, head, callback);
                continue;
            }
            deliver(key, head, callback);
            return;
        }
    }

    private void deliver(ScopeKey key, Inbox.Entry entry, MessageCallback callback) {
        int attempt = entry.attempts() + 1;
        try {
            // before the callback: an app that dies inside it must find the attempt counted
            inbox.recordAttempt(key, entry.message().id(), attempt);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot record delivery attempt " + attempt + " of " + entry.message(), e);
        }
        Delivery d = new Delivery(key, entry.message(), attempt, callback);
        inFlight.put(key, d);
        // armed here rather than posted by the callback thread when it starts: one state-thread
        // task per message less; checkAckTimeout counts from the start all the same
        armAckTimeout(d, config.ackTimeoutMillis);
        loop.dispatch(() -> run(d));
    }

    /** Callback thread. */
    private void run(Delivery d) {
        if (closing.getAsBoolean() || d.cancelled || !users.stillSignedIn(d.key)) {
            loop.postFromCallback(() -> notRun(d));
            return;
        }
        d.startedNanos = Math.max(1, System.nanoTime());
        try {
            d.callback.onMessage(d.message);
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "callback for " + d + " threw", t);
            loop.postFromCallback(() -> failed(d, "the callback threw " + t));
            return;
        }
        if (config.autoAck) {
            reportAcked(d.message);
        }
    }

    /** Any thread: the app acked {@code message}. */
    void reportAcked(SyncMessage message) {
        loop.postFromCallback(() -> acked(message));
    }

    /** Done: removed from the inbox, the scope moves on. A late ack (after a timeout) counts too. */
    void acked(SyncMessage message) {
        loop.checkThread();
        ScopeKey key = ScopeKey.of(message);
        if (key == null || message.ephemeral()) {
            // ephemeral: never stored, nothing to remove
            return;
        }
        Inbox.Entry e = inbox.get(key, message.id());
        if (e == null || e.attempts() == 0 || e.message().epoch() != message.epoch()) {
            // done already, dropped, never delivered, or the same id of a timeline we left
            return;
        }
        Delivery d = inFlight.get(key);
        if (d != null && d.message.id() == message.id()) {
            finish(d);
        }
        if (inbox.head(key) == e) {
            cancelRetry(key);
        }
        try {
            inbox.remove(key, message.id(), false);
        } catch (IOException ex) {
            LOG.log(Level.WARNING, "cannot record the ack of " + message + " in the inbox; it may be delivered again"
                    + " after a restart", ex);
        }
        pump(key);
        removed.run();
    }

    private void armAckTimeout(Delivery d, long delayMillis) {
        d.timeout = loop.schedule(() -> checkAckTimeout(d), delayMillis);
    }

    /** The attempt fails once the ack timeout passed since its callback started; until it started, it waits. */
    private void checkAckTimeout(Delivery d) {
        if (inFlight.get(d.key) != d) {
            return;
        }
        long started = d.startedNanos;
        long left = started == 0 ? config.ackTimeoutMillis
                : config.ackTimeoutMillis - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        if (left > 0) {
            armAckTimeout(d, left);
            return;
        }
        d.timeout = null;
        failed(d, "not acked within " + config.ackTimeoutMillis + " ms");
    }

    private void failed(Delivery d, String reason) {
        if (inFlight.get(d.key) != d) {
            return;
        }
        finish(d);
        Inbox.Entry e = inbox.get(d.key, d.message.id());
        if (e == null) {
            return;
        }
        e.lastFailure(reason);
        LOG.warning("delivery of " + d + " failed: " + reason);
        if (e.attempts() >= MssClient.MAX_DELIVERY_ATTEMPTS) {
            // dropped by pump, with the event, once its callback and user are there
            pump(d.key);
            return;
        }
        ScopeKey key = d.key;
        ScheduledFuture<?> timer = loop.schedule(() -> {
            retryTimers.remove(key);
            pump(key);
        }, redeliveryDelayMillis(e.attempts()));
        if (timer != null) {
            retryTimers.put(key, timer);
        }
    }

    /** The delay after {@code attempts} failed attempts: min, doubling, at most max. */
    long redeliveryDelayMillis(int attempts) {
        long delay = config.redeliveryMinMillis;
        for (int i = 1; i < attempts && delay < config.redeliveryMaxMillis; i++) {
            delay *= 2;
        }
        return Math.min(delay, config.redeliveryMaxMillis);
    }

    /** The attempt never reached the callback (closing, or its user signed out): not counted. */
    private void notRun(Delivery d) {
        if (inFlight.get(d.key) != d) {
            return;
        }
        finish(d);
        uncount(d);
        pump(d.key);
    }

    private void uncount(Delivery d) {
        Inbox.Entry e = inbox.get(d.key, d.message.id());
        if (e != null && e.attempts() == d.attempt) {
            try {
                inbox.recordAttempt(d.key, d.message.id(), d.attempt - 1);
            } catch (IOException ex) {
                LOG.log(Level.FINE, "cannot uncount delivery attempt of " + d.message, ex);
            }
        }
    }

    private void drop(ScopeKey key, Inbox.Entry entry, MessageCallback callback) {
        SyncMessage m = entry.message();
        String reason = "dropped after " + entry.attempts() + " delivery attempts; last: "
                + (entry.lastFailure() != null ? entry.lastFailure()
                : "attempt " + entry.attempts() + " did not finish before the app stopped");
        try {
            inbox.remove(key, m.id(), true);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot record the drop of " + m + " in the inbox", e);
        }
        LOG.warning(m + " " + reason);
        removed.run();
        loop.dispatch(() -> {
            if (closing.getAsBoolean()) {
                return;
            }
            try {
                callback.onMessageDropped(m, reason);
            } catch (Throwable t) {
                LOG.log(Level.WARNING, "onMessageDropped(" + m + ") threw", t);
            }
        });
    }

    private void finish(Delivery d) {
        inFlight.remove(d.key);
        d.cancelled = true;
        if (d.timeout != null) {
            d.timeout.cancel(false);
            d.timeout = null;
        }
    }

    private void cancelRetry(ScopeKey key) {
        ScheduledFuture<?> retry = retryTimers.remove(key);
        if (retry != null) {
            retry.cancel(false);
        }
    }

    /** The scope starts over: its attempt with the callback (if any) ends, its retry is cancelled. */
    void cancelScope(ScopeKey key) {
        loop.checkThread();
        Delivery d = inFlight.get(key);
        if (d != null) {
            finish(d);
        }
        cancelRetry(key);
    }

    /** Attempts that had not failed when the app closed the client do not count against the message. */
    void close() {
        loop.checkThread();
        for (Delivery d : new ArrayList<>(inFlight.values())) {
            finish(d);
            uncount(d);
        }
        for (ScheduledFuture<?> retry : retryTimers.values()) {
            retry.cancel(false);
        }
        retryTimers.clear();
    }
}
