package io.mss.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The server runs as its own process and is killed with SIGKILL while pushes are being
 * acknowledged, then restarted on the same data dir. Every push that got OK must reach every
 * device of its user, in order, and no callback may see an oplog twice.
 *
 * <p>{@code -Dmss.crash.cycles=N} sets the number of kills (default 3).
 */
class CrashRecoveryTest {
    private static final int USERS = 4;
    private static final int PUSHERS = 4;

    @TempDir
    Path tmp;

    @Test
    void acknowledgedPushesSurviveSigkill() throws Exception {
        int cycles = Integer.getInteger("mss.crash.cycles", 3);
        DeliveryChecker checker = new DeliveryChecker();
        Path logs = Files.createDirectories(tmp.resolve("logs"));
        try (ServerProcess server = new ServerProcess(tmp.resolve("data"), logs)) {
            server.start();
            Api api = server.api();
            api.createBizType("ORDER", "APPOINTED", "USER");

            // every user has two devices; one device of user 0 connects only at the end
            Map<String, List<String>> scopesByDevice = new LinkedHashMap<>();
            List<Device> devices = new ArrayList<>();
            for (int u = 0; u < USERS; u++) {
                for (int d = 0; d < 2; d++) {
                    String deviceId = "u" + u + "-d" + d;
                    scopesByDevice.put(deviceId, List.of(DeliveryChecker.scope("ORDER", "USER", "user" + u)));
                    if (u == 0 && d == 1) {
                        continue;
                    }
                    Device device = new Device(deviceId, "user" + u, server.syncPort, server.certFile().toFile(),
                            tmp.resolve("state-" + deviceId), checker, "ORDER");
                    device.client.appToForeground();
                    devices.add(device);
                }
            }

            AtomicBoolean pushing = new AtomicBoolean(true);
            AtomicLong acknowledged = new AtomicLong();
            AtomicLong failed = new AtomicLong();
            List<Thread> pushers = new ArrayList<>();
            for (int p = 0; p < PUSHERS; p++) {
                int pusher = p;
                Thread thread = new Thread(() -> {
                    long n = 0;
                    while (pushing.get()) {
                        String user = "user" + ThreadLocalRandom.current().nextInt(USERS);
                        String payload = "p" + pusher + "-" + (n++);
                        try {
                            Api.Answer answer = api.push("ORDER", user, payload, null);
                            if (answer.status() == 200 && answer.resultCode().equals("OK")) {
                                checker.acknowledged(DeliveryChecker.scope("ORDER", "USER", user), answer.oplogId(), payload);
                                acknowledged.incrementAndGet();
                            } else {
                                failed.incrementAndGet();
                            }
                        } catch (RuntimeException e) {
                            // the server is down: not acknowledged, so nothing is promised
                            failed.incrementAndGet();
                            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                        }
                    }
                }, "pusher-" + p);
                thread.start();
                pushers.add(thread);
            }

            for (int cycle = 0; cycle < cycles; cycle++) {
                long before = acknowledged.get();
                long runFor = 500 + ThreadLocalRandom.current().nextLong(1500);
                // let pushes land (at least some acknowledged) for a random time, then kill
                await().pollDelay(Duration.ofMillis(runFor)).atMost(Duration.ofSeconds(60))
                        .until(() -> acknowledged.get() > before);
                server.kill();
                server.start();
            }
            // a last stretch of pushes against the restarted server
            long before = acknowledged.get();
            await().atMost(Duration.ofSeconds(60)).until(() -> acknowledged.get() > before + 100);
            pushing.set(false);
            for (Thread thread : pushers) {
                thread.join();
            }

            Device late = new Device("u0-d1", "user0", server.syncPort, server.certFile().toFile(),
                    tmp.resolve("state-u0-d1"), checker, "ORDER");
            late.client.appToForeground();
            devices.add(late);

            await().atMost(Duration.ofSeconds(90)).until(() -> scopesByDevice.entrySet().stream()
                    .allMatch(e -> checker.caughtUp(e.getKey(), e.getValue().get(0))));
            DeliveryChecker.Report report = checker.check(scopesByDevice);
            System.out.printf("crash test: cycles=%d acknowledged=%d failed-while-down=%d %s%n", cycles,
                    acknowledged.get(), failed.get(), report);
            assertThat(report.clean()).as(report.toString()).isTrue();
            assertThat(acknowledged.get()).isGreaterThan(cycles * 1L);
            for (Device device : devices) {
                device.close();
            }
            server.assertNoLeaksLogged();
        }
    }
}
