package io.mss.e2e;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.awaitility.Awaitility.await;

/**
 * Load for the cluster tests: one thread per node pushes ORDER oplogs to random users through that
 * node's API. Every push answered OK goes to the cluster's checker; every other answer is counted
 * by "status resultCode" ("no answer" when the node did not answer at all).
 */
final class ClusterPushers implements AutoCloseable {
    private final AtomicBoolean pushing = new AtomicBoolean(true);
    private final AtomicLong acknowledged = new AtomicLong();
    private final Map<String, AtomicLong> refusals = new ConcurrentHashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    /** When each push was acknowledged (nanoTime), to time how long an outage kept them from it. */
    private final java.util.concurrent.ConcurrentSkipListSet<Long> ackTimes =
            new java.util.concurrent.ConcurrentSkipListSet<>();

    ClusterPushers(Cluster cluster, int nodes, int users) {
        for (int n = 0; n < nodes; n++) {
            Api api = cluster.node(n).api();
            int node = n;
            Thread pusher = new Thread(() -> {
                long i = 0;
                while (pushing.get()) {
                    String user = "user" + ThreadLocalRandom.current().nextInt(users);
                    String payload = "n" + node + "-" + (i++);
                    String refusal;
                    try {
                        Api.Answer answer = api.push("ORDER", user, payload, null);
                        if (answer.status() == 200 && "OK".equals(answer.resultCode())) {
                            cluster.checker.acknowledged(DeliveryChecker.scope("ORDER", "USER", user),
                                    answer.oplogId(), payload);
                            acknowledged.incrementAndGet();
                            ackTimes.add(System.nanoTime());
                            continue;
                        }
                        refusal = answer.status() + " " + answer.resultCode();
                    } catch (RuntimeException e) {
                        // a dead node: nothing acknowledged, nothing promised
                        refusal = "no answer";
                    }
                    refusals.computeIfAbsent(refusal, k -> new AtomicLong()).incrementAndGet();
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                }
            }, "pusher-node" + n);
            pusher.start();
            threads.add(pusher);
        }
    }

    long acknowledged() {
        return acknowledged.get();
    }

    Map<String, AtomicLong> refusals() {
        return refusals;
    }

    long refused() {
        return refusals.values().stream().mapToLong(AtomicLong::get).sum();
    }

    /** When (nanoTime) the first push after {@code since} was acknowledged; fails if none was. */
    long firstAcknowledgedAfter(long since) {
        Long first = ackTimes.ceiling(since);
        if (first == null) {
            throw new IllegalStateException("no push acknowledged since then");
        }
        return first;
    }

    /** Waits until {@code more} further pushes were acknowledged. */
    void awaitMoreAcknowledged(long more) {
        long before = acknowledged.get();
        await().atMost(Duration.ofSeconds(60)).until(() -> acknowledged.get() >= before + more);
    }

    /** Stops pushing and waits for every pusher to finish its last request. */
    @Override
    public void close() throws InterruptedException {
        pushing.set(false);
        for (Thread pusher : threads) {
            pusher.join();
        }
    }
}
