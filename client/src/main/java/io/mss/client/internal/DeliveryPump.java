package io.mss.client.internal;

import io.mss.client.MessageCallback;
import io.mss.client.MssClient;
import io.mss.client.SyncMessage;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Hands the inbox's messages to the app's callbacks: per scope the head message, one attempt at a
 * time, in id order; the next one once the app acked (or the message was dropped). An attempt
 * that throws or is not acked within the ack timeout is retried after a doubling delay, up to
 * {@link MssClient#MAX_DELIVERY_ATTEMPTS} counted in the inbox before each call (so that they
 * survive the app's process dying inside the callback); then the message is dropped and the
 * callback's {@code onMessageDropped} told.
 *
 * <p>A delivery is handed over as a <em>run</em>: the scope's head and up to {@link #MAX_RUN}
 * messages after it that were never attempted. When the app acks a message inside its callback,
 * the callback thread goes on to the next message of the run at once, storing its attempt in the
 * inbox's {@link RunningAttempt} first (kept there until the next callback); the state thread
 * learns of it from the ack, counts that
 * attempt in the inbox too and arms its timeout. Without that, every message of a scope would wait
 * for a round trip between the callback thread and the state thread. A message not acked by the
 * time its callback returns ends the run; so does the state thread, which can stop a run at any
 * point ({@link Delivery#stopUnlessAcked}). Runs grow from one message while a scope's messages
 * are acked inside their callbacks, and start from one again when one is not.
 *
 * <p>State thread, except {@link #run} and {@link #reportAcked}, which run on the callback
 * thread (and any thread) and post back.
 */
final class DeliveryPump {
    private static final Logger LOG = Logger.getLogger("io.mss.client");
    /** Most messages of a scope handed to the callback thread at once. */
    static final int MAX_RUN = 64;
    /** How soon the ack timer looks again at a run whose attempt was acked but whose ack is not here yet. */
    private static final long ACKED_RECHECK_MILLIS = 50;

    /**
     * What the deliveries of one run share: one ack timer, for whichever of them the state thread
     * holds in flight (each still times out counting from its own callback's start). State thread.
     */
    static final class Run {
        final ScopeKey key;
        ScheduledFuture<?> timeout;

        Run(ScopeKey key) {
            this.key = key;
        }

        void cancelTimeout() {
            if (timeout != null) {
                timeout.cancel(false);
                timeout = null;
            }
        }
    }

    /** One attempt to hand a message to its callback, and the next one of its run. */
    static final class Delivery {
        /** Not started; the callback thread starts it, or the state thread stops it first. */
        static final int QUEUED = 0;
        /** Its callback runs (or is about to). */
        static final int RUNNING = 1;
        /** Acked while its callback ran: the callback thread goes on to {@link #next}. */
        static final int ACKED = 2;
        /** Its callback returned (or threw) without an ack: the run ends here. */
        static final int RETURNED = 3;
        /** Stopped by the state thread while its callback ran: the run ends after it. */
        static final int STOPPED = 4;
        /** Stopped by the state thread before it started: it never runs. */
        static final int REVOKED = 5;
        private static final AtomicIntegerFieldUpdater<Delivery> STATE =
                AtomicIntegerFieldUpdater.newUpdater(Delivery.class, "state");

        final ScopeKey key;
        final SyncMessage message;
        final int attempt;
        final MessageCallback callback;
        /** The run it belongs to, whose key is its scope. */
        final Run run;
        /** The scope's next message in this run; null at the run's end. */
        final Delivery next;
        /** The callback thread's and the state thread's one point of agreement on where the run is. */
        volatile int state;
        /** Set by the callback thread when the callback starts (System.nanoTime, never 0). */
        volatile long startedNanos;
        /** The thread running its callback; set before {@link #current} names it. */
        Thread runner;

        Delivery(SyncMessage message, int attempt, MessageCallback callback, Run run, Delivery next) {
            this.key = run.key;
            this.message = message;
            this.attempt = attempt;
            this.callback = callback;
            this.run = run;
            this.next = next;
        }

        /** Callback thread: false when the state thread stopped it first. */
        boolean start() {
            return STATE.compareAndSet(this, QUEUED, RUNNING);
        }

        /** Any thread, while its callback runs: the app acked it. */
        void ackedInCallback() {
            STATE.compareAndSet(this, RUNNING, ACKED);
        }

        /** Callback thread, after its callback: whether it was acked inside it (and not stopped). */
        boolean goesOn() {
            return !STATE.compareAndSet(this, RUNNING, RETURNED) && state == ACKED;
        }

        /**
         * Ends the run at this delivery, unless it was acked inside its callback, in which case the
         * callback thread goes on (or went on) to {@link #next}.
         *
         * @return false when it was acked inside its callback
         */
        boolean stopUnlessAcked() {
            while (true) {
                int s = state;
                if (s == ACKED) {
                    return false;
                }
                if (s == RETURNED || s == STOPPED || s == REVOKED
                        || STATE.compareAndSet(this, s, s == QUEUED ? REVOKED : STOPPED)) {
                    return true;
                }
            }
        }

        @Override
        public String toString() {
            return message + " attempt " + attempt + "/" + MssClient.MAX_DELIVERY_ATTEMPTS;
        }
    }

    private final StateLoop loop;
    private final Inbox inbox;
    /** The callback side's record of the attempt whose callback runs; null: runs of one message. */
    private final RunningAttempt running;
    private final ClientConfig config;
    /** The registered callbacks, owned by the client; read here on the state thread. */
    private final Map<String, MessageCallback> callbacks;
    private final UserSwitch users;
    private final BooleanSupplier closing;
    /** Told whenever messages left the inbox: the client may take frames again. */
    private final Runnable removed;
    /** At most one attempt per scope is with the callback: the one the state thread knows of. */
    private final Map<ScopeKey, Delivery> inFlight = new HashMap<>();
    /** Scopes whose head message waits for its next attempt. */
    private final Map<ScopeKey, ScheduledFuture<?>> retryTimers = new HashMap<>();
    /** Per scope, the length of its next run, when more than one. */
    private final Map<ScopeKey, Integer> runLengths = new HashMap<>();
    /** Callback thread: the delivery whose callback runs, for {@link #reportAcked}. */
    private volatile Delivery current;

    DeliveryPump(StateLoop loop, Inbox inbox, ClientConfig config, Map<String, MessageCallback> callbacks,
                 UserSwitch users, BooleanSupplier closing, Runnable removed) {
        this.loop = loop;
        this.inbox = inbox;
        this.running = inbox.running();
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
        // before the callback: an app that dies inside it must find the attempt counted
        recordAttempt(key, entry.message(), attempt);
        Run run = new Run(key);
        Delivery next = null;
        if (running != null) {
            Integer length = runLengths.get(key);
            List<Inbox.Entry> after = length == null ? Collections.<Inbox.Entry>emptyList()
                    : inbox.unattemptedAfter(key, entry.message().id(), length - 1);
            for (int i = after.size() - 1; i >= 0; i--) {
                next = new Delivery(after.get(i).message(), 1, callback, run, next);
            }
        }
        Delivery d = new Delivery(entry.message(), attempt, callback, run, next);
        inFlight.put(key, d);
        armAckTimeout(run, config.ackTimeoutMillis);
        loop.dispatch(() -> run(d));
    }

    private void recordAttempt(ScopeKey key, SyncMessage message, int attempt) {
        try {
            inbox.recordAttempt(key, message.id(), attempt);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot record delivery attempt " + attempt + " of " + message, e);
        }
    }

    /** Callback thread: the run from {@code first}, for as long as each message is acked inside its callback. */
    private void run(Delivery first) {
        for (Delivery d = first; d != null; d = d.next) {
            if (!d.start()) {
                // stopped by the state thread before it started: nothing to tell
                return;
            }
            boolean runs;
            try {
                runs = !closing.getAsBoolean() && users.stillSignedIn(d.key)
                        && (running == null || running.begin(d.key, d.message.id(), d.message.epoch(), d.attempt));
            } catch (RuntimeException | Error e) {
                // e.g. the mapped file failing: the state thread must learn that this attempt never started
                LOG.log(Level.WARNING, "cannot start the callback for " + d, e);
                runs = false;
            }
            if (!runs) {
                Delivery notRun = d;
                loop.postFromCallback(() -> notRun(notRun));
                return;
            }
            d.runner = Thread.currentThread();
            current = d;
            d.startedNanos = Math.max(1, System.nanoTime());
            Throwable threw = null;
            try {
                d.callback.onMessage(d.message);
            } catch (Throwable t) {
                threw = t;
            }
            if (threw == null && config.autoAck) {
                reportAcked(d.message);
            }
            // the RunningAttempt keeps it until the next callback: the inbox counts it a little later
            current = null;
            if (!d.goesOn()) {
                if (threw != null) {
                    LOG.log(Level.WARNING, "callback for " + d + " threw", threw);
                    Delivery failed = d;
                    String reason = "the callback threw " + threw;
                    loop.postFromCallback(() -> failed(failed, reason));
                }
                return;
            }
            if (threw != null) {
                // acked before it threw: the ack counts, as it would have from any thread
                LOG.log(Level.WARNING, "callback for " + d + " threw after acking it", threw);
            }
        }
    }

    /**
     * Any thread: the app acked {@code message}. What the callback thread posts about the next
     * message of the run (its ack, failure or not running) must reach the state thread after this
     * ack, which is what moves the state thread on to that message. On the callback's own thread
     * that holds whatever the order here, so the mark comes first and the state thread finds it;
     * another thread posts first, or the callback thread could go on and post before it (an ack the
     * state thread takes before that thread's mark ends the run there instead).
     */
    void reportAcked(SyncMessage message) {
        Delivery d = current;
        boolean inCallback = d != null && d.message == message;
        if (inCallback && d.runner == Thread.currentThread()) {
            d.ackedInCallback();
            loop.postFromCallback(() -> acked(message));
            return;
        }
        loop.postFromCallback(() -> acked(message));
        if (inCallback) {
            d.ackedInCallback();
        }
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
            if (d.next != null && !d.stopUnlessAcked() && d.next.state != Delivery.REVOKED) {
                goOn(d);
            } else {
                if (d.state == Delivery.ACKED && d.next == null) {
                    // the whole run was acked inside its callbacks: a longer one next time
                    runLengths.merge(key, 2, (was, two) -> Math.min(MAX_RUN, was * 2));
                } else {
                    runLengths.remove(key);
                }
                finish(d);
            }
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

    /** {@code d} was acked inside its callback: the callback thread went on to the next message of the run. */
    private void goOn(Delivery d) {
        Delivery next = d.next;
        inFlight.put(next.key, next);
        // the callback thread stored it in the RunningAttempt before its callback; the inbox now too
        recordAttempt(next.key, next.message, next.attempt);
        // the run's timer, armed for d, now watches next: it counts from next's own start when it fires
    }

    private void armAckTimeout(Run run, long delayMillis) {
        run.timeout = loop.schedule(() -> checkAckTimeout(run), delayMillis);
    }

    /**
     * The attempt the state thread holds in flight for the run fails once the ack timeout passed
     * since its callback started; until then (or until it started) the timer waits again.
     */
    private void checkAckTimeout(Run run) {
        run.timeout = null;
        Delivery d = inFlight.get(run.key);
        if (d == null || d.run != run) {
            return;
        }
        long started = d.startedNanos;
        long left = started == 0 ? config.ackTimeoutMillis
                : config.ackTimeoutMillis - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        if (left > 0) {
            armAckTimeout(run, left);
            return;
        }
        if (!d.stopUnlessAcked()) {
            // acked inside the callback just now: the ack is on its way to this thread; look again
            // soon at whichever attempt is in flight then, which counts from its own start
            armAckTimeout(run, Math.min(config.ackTimeoutMillis, ACKED_RECHECK_MILLIS));
            return;
        }
        failed(d, "not acked within " + config.ackTimeoutMillis + " ms");
    }

    private void failed(Delivery d, String reason) {
        if (inFlight.get(d.key) != d) {
            return;
        }
        finish(d);
        runLengths.remove(d.key);
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
        runLengths.remove(d.key);
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

    /** The attempt is over for the state thread; the callback thread starts nothing more of its run. */
    private void finish(Delivery d) {
        inFlight.remove(d.key);
        d.run.cancelTimeout();
        stopRun(d);
    }

    /**
     * The callback thread starts no message of the run after the one it runs now: each delivery
     * from {@code d} on is stopped unless it was acked inside its callback, in which case the
     * callback thread went on to the next, which is stopped in turn.
     */
    private static void stopRun(Delivery d) {
        for (Delivery x = d; x != null && !x.stopUnlessAcked(); x = x.next) {
            // x was acked inside its callback: the callback thread goes on to x.next
        }
    }

    /**
     * The callback of {@code bizType} was replaced or removed: the runs handed to the old one end
     * after the message each runs now (that one's attempt goes on as before).
     */
    void callbackChanged(String bizType) {
        loop.checkThread();
        List<Delivery> revoked = new ArrayList<>();
        for (Delivery d : inFlight.values()) {
            if (d.key.bizType().equals(bizType)) {
                stopRun(d);
                if (d.state == Delivery.REVOKED) {
                    revoked.add(d);
                }
            }
        }
        // never started: they go again, to the callback registered now (if any)
        for (Delivery d : revoked) {
            finish(d);
            uncount(d);
            pump(d.key);
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
        runLengths.remove(key);
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
