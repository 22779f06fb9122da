package io.mss.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The real server (in this JVM) behind a {@link FaultProxy}; devices (the real SDK, which
 * dedupes by sync point and resumes from it) connect only through the proxy while pushers push
 * without pause. A seeded random schedule cuts, stalls, slows, resets mid-frame and holds
 * half-open the devices' connections; then the faults stop, the pushes stop, every device must
 * catch up, and the {@link DeliveryChecker} must find nothing lost, duplicated, misordered or
 * corrupted.
 *
 * <p>Heartbeat 1 s, so a dead (stalled or held) connection is noticed by both sides within
 * 2.5 s. Rounds: 5 x {@code mss.crash.cycles} (default 3, {@code -Plong}: 20). Seed:
 * {@code -Dmss.faults.seed=N} repeats a schedule (the seed is printed).
 */
class NetworkFaultsTest {
    private static final int USERS = 3;
    private static final int DEVICES_PER_USER = 2;
    private static final int PUSHERS = 3;

    @TempDir
    Path tmp;

    @Test
    void everyAcknowledgedPushArrivesOnceInOrderThroughNetworkFaults() throws Exception {
        long seed = Long.getLong("mss.faults.seed", System.nanoTime());
        int rounds = 5 * Integer.getInteger("mss.crash.cycles", 3);
        Random random = new Random(seed);
        System.out.println("network faults: seed=" + seed + " rounds=" + rounds);
        DeliveryChecker checker = new DeliveryChecker();
        try (TestServer server = TestServer.start(tmp.resolve("data"), c -> c.heartbeatSeconds = 1);
             FaultProxy proxy = new FaultProxy(server.syncPort())) {
            Api api = server.api;
            api.createBizType("ORDER", "APPOINTED", "USER");
            api.createBizType("NEWS", "GLOBAL", "USER");
            String news = DeliveryChecker.scope("NEWS", "GLOBAL", "");

            Map<String, List<String>> scopesByDevice = new LinkedHashMap<>();
            List<Device> devices = new ArrayList<>();
            for (int u = 0; u < USERS; u++) {
                for (int d = 0; d < DEVICES_PER_USER; d++) {
                    String deviceId = "u" + u + "-d" + d;
                    scopesByDevice.put(deviceId, List.of(DeliveryChecker.scope("ORDER", "USER", "user" + u), news));
                    Device device = new Device(deviceId, "user" + u, proxy.port(), server.certFile().toFile(),
                            tmp.resolve("state-" + deviceId), checker, new String[]{"ORDER", "NEWS"});
                    device.client.appToForeground();
                    devices.add(device);
                }
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> devices.stream().allMatch(d -> d.client.isConnected()));

            AtomicBoolean pushing = new AtomicBoolean(true);
            AtomicLong acknowledged = new AtomicLong();
            AtomicLong refused = new AtomicLong();
            List<Thread> pushers = new ArrayList<>();
            for (int p = 0; p < PUSHERS; p++) {
                int pusher = p;
                Random own = new Random(seed + p + 1);
                Thread thread = new Thread(() -> {
                    long n = 0;
                    while (pushing.get()) {
                        String payload = "p" + pusher + "-" + (n++);
                        boolean global = own.nextInt(5) == 0;
                        String user = "user" + own.nextInt(USERS);
                        try {
                            Api.Answer answer = global ? api.pushGlobal("NEWS", payload)
                                    : api.push("ORDER", user, payload, null);
                            if (answer.status() == 200 && answer.resultCode().equals("OK")) {
                                checker.acknowledged(global ? news : DeliveryChecker.scope("ORDER", "USER", user),
                                        answer.oplogId(), payload);
                                acknowledged.incrementAndGet();
                            } else {
                                refused.incrementAndGet();
                            }
                        } catch (RuntimeException e) {
                            refused.incrementAndGet();
                        }
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
                    }
                }, "pusher-" + p);
                thread.start();
                pushers.add(thread);
            }

            Map<String, Integer> faults = new LinkedHashMap<>();
            for (int round = 0; round < rounds; round++) {
                List<FaultProxy.Conn> conns = proxy.forwarding();
                String fault = applyRandomFault(proxy, conns, random);
                faults.merge(fault, 1, Integer::sum);
                Thread.sleep(200 + random.nextInt(700));
                if (random.nextInt(3) == 0) {
                    proxy.heal(); // sometimes faults overlap, sometimes they end
                }
            }
            proxy.heal();
            long lastStretch = acknowledged.get();
            await().atMost(Duration.ofSeconds(30)).until(() -> acknowledged.get() > lastStretch + 50);
            pushing.set(false);
            for (Thread thread : pushers) {
                thread.join();
            }

            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> scopesByDevice.entrySet().stream()
                        .allMatch(e -> e.getValue().stream().allMatch(s -> checker.caughtUp(e.getKey(), s))));
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                // say who fell behind, so that a failure of this timing-dependent test can be read
                scopesByDevice.forEach((device, scopes) -> scopes.stream()
                        .filter(scope -> !checker.caughtUp(device, scope))
                        .forEach(scope -> System.out.println("not caught up: device=" + device + " scope=" + scope
                                + " connected=" + devices.stream().filter(d -> d.deviceId.equals(device))
                                .map(d -> String.valueOf(d.client.isConnected())).findFirst().orElse("?"))));
                System.out.println("network faults: seed=" + seed + " " + checker.check(scopesByDevice));
                throw e;
            }
            // anything late (a resend the SDK failed to drop) would show up now
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                    .until(() -> checker.check(scopesByDevice).clean());
            DeliveryChecker.Report report = checker.check(scopesByDevice);
            int applied = faults.values().stream().mapToInt(Integer::intValue).sum();
            System.out.printf("network faults: seed=%d connections=%d faults=%d %s pushes-acknowledged=%d refused=%d "
                            + "delivered=%d lost=%d duplicated=%d misordered=%d corrupted=%d poison-cutoffs=%d%n",
                    seed, proxy.accepted(), applied, faults, acknowledged.get(), refused.get(), report.delivered,
                    report.lost, report.duplicated, report.misordered, report.corrupted,
                    server.server.engine().poisonCutoffs());
            assertThat(report.clean()).as("seed " + seed + ": " + report).isTrue();
            assertThat(acknowledged.get()).isGreaterThan(100);
            boolean disruptive = faults.keySet().stream().anyMatch(f -> f.startsWith("cut") || f.startsWith("reset")
                    || f.equals("half-open"));
            if (disruptive) {
                assertThat(proxy.accepted()).as("the faults made devices reconnect").isGreaterThan(devices.size());
            }
            for (Device device : devices) {
                device.close();
            }
        }
    }

    /** Applies one fault to one, some or all forwarding connections; returns its name. */
    private static String applyRandomFault(FaultProxy proxy, List<FaultProxy.Conn> conns, Random random) {
        FaultProxy.Direction[] directions = FaultProxy.Direction.values();
        int kind = random.nextInt(8);
        if (conns.isEmpty()) {
            kind = 7;
        }
        switch (kind) {
            case 0 -> {
                pick(conns, random).cut();
                return "cut";
            }
            case 1 -> {
                pick(conns, random).stall(directions[random.nextInt(3)], 200 + random.nextInt(3500));
                return "stall";
            }
            case 2 -> {
                pick(conns, random).latency(20 + random.nextInt(300));
                return "latency";
            }
            case 3 -> {
                pick(conns, random).resetMidFrame();
                return "reset";
            }
            case 4 -> {
                pick(conns, random).hold();
                return "half-open";
            }
            case 5 -> {
                if (random.nextBoolean()) {
                    proxy.cutAll();
                    return "cut-all";
                }
                proxy.resetAll();
                return "reset-all";
            }
            case 6 -> {
                proxy.stallAll(directions[random.nextInt(3)], 200 + random.nextInt(3500));
                return "stall-all";
            }
            default -> {
                proxy.latency(10 + random.nextInt(200));
                return "latency-all";
            }
        }
    }

    private static FaultProxy.Conn pick(List<FaultProxy.Conn> conns, Random random) {
        return conns.get(random.nextInt(conns.size()));
    }
}
