package io.mss.e2e;

import io.mss.client.MssClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import javax.management.ListenerNotFoundException;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

import com.sun.management.GarbageCollectionNotificationInfo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A slow app catching up a large backlog keeps bounded memory and loses nothing: the SDK stops
 * taking frames while its inbox holds enough for the app, its reader stops reading, and the
 * server waits. The server runs as its own JVM, so this JVM's heap is the SDK's and the test's.
 */
class SdkBackpressureTest {
    private static final int OPLOGS = 100_000;
    private static final int BIZ_TYPES = 4;
    /** 1,000 characters: held in memory, 100,000 of them would need well over 200 MiB. */
    private static final String PAYLOAD = "p".repeat(1000);
    /** Generous: the bounded queues need a few MiB; JUnit, Awaitility and the JDK's TLS the rest. */
    private static final long HEAP_CEILING_BYTES = 96L << 20;

    @TempDir
    Path tmp;

    @Test
    void aHundredThousandOplogsThroughASlowCallbackKeepTheHeapBoundedAndArriveInOrderOnce() throws Exception {
        try (ServerProcess server = new ServerProcess(tmp.resolve("server"), Files.createDirectories(tmp.resolve("logs")))) {
            server.start();
            Api api = server.api();
            for (int b = 0; b < BIZ_TYPES; b++) {
                api.createBizType("SLOW-" + b, "APPOINTED", "USER");
            }
            for (int b = 0; b < BIZ_TYPES; b++) {
                for (int done = 0; done < OPLOGS / BIZ_TYPES; done += 1000) {
                    List<Map<String, Object>> orders = new ArrayList<>();
                    for (int i = 0; i < 1000; i++) {
                        orders.add(Map.of("bizType", "SLOW-" + b, "linkToken", "ivy", "payload", PAYLOAD));
                    }
                    Api.Answer a = api.post("/api/v1/push/batch", Map.of("orders", orders));
                    assertThat(a.status()).isEqualTo(200);
                    assertThat(a.body().path("failed").asInt()).isZero();
                }
            }

            // per bizType: the last id seen and how many; ascending without gap or repeat means last == count
            Map<String, AtomicLong> last = new ConcurrentHashMap<>();
            Map<String, AtomicLong> count = new ConcurrentHashMap<>();
            List<String> disorder = new java.util.concurrent.CopyOnWriteArrayList<>();
            AtomicLong peak = new AtomicLong();
            NotificationListener gcWatch = (n, h) -> {
                if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
                    long used = 0;
                    for (Map.Entry<String, MemoryUsage> e : GarbageCollectionNotificationInfo
                            .from((CompositeData) n.getUserData()).getGcInfo().getMemoryUsageAfterGc().entrySet()) {
                        if (!e.getKey().contains("Metaspace") && !e.getKey().contains("Code")
                                && !e.getKey().contains("Class")) {
                            used += e.getValue().getUsed();
                        }
                    }
                    peak.accumulateAndGet(used, Math::max);
                }
            };
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                ((NotificationEmitter) gc).addNotificationListener(gcWatch, null, null);
            }
            MssClient client = MssClient.builder()
                    .server("localhost", server.syncPort)
                    .trustCertificate(server.certFile().toFile())
                    .deviceId("slow-phone")
                    .tokenProvider((did, uid) -> TestServer.token(did, uid))
                    .stateDir(tmp.resolve("state").toFile())
                    .build();
            try {
                for (int b = 0; b < BIZ_TYPES; b++) {
                    String biz = "SLOW-" + b;
                    last.put(biz, new AtomicLong());
                    count.put(biz, new AtomicLong());
                    client.registerBiz(biz, m -> {
                        // a deliberately slow app: 50 µs per message, far slower than the socket
                        LockSupport.parkNanos(50_000);
                        long previous = last.get(biz).getAndSet(m.id());
                        if (m.id() != previous + 1) {
                            disorder.add(biz + ": " + m.id() + " after " + previous);
                        }
                        count.get(biz).incrementAndGet();
                        client.reportMsgReceived(m);
                    });
                }
                client.updateUserInfo("ivy");
                client.appToForeground();
                await().atMost(Duration.ofMinutes(8)).pollInterval(Duration.ofMillis(500)).until(() ->
                        count.values().stream().mapToLong(AtomicLong::get).sum() >= OPLOGS);
            } finally {
                client.close();
                for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                    try {
                        ((NotificationEmitter) gc).removeNotificationListener(gcWatch);
                    } catch (ListenerNotFoundException ignored) {
                        // never added
                    }
                }
            }
            assertThat(disorder).isEmpty();
            Map<String, Long> perBiz = new LinkedHashMap<>();
            count.forEach((biz, n) -> perBiz.put(biz, n.get()));
            assertThat(perBiz.values()).containsOnly((long) OPLOGS / BIZ_TYPES);
            System.out.println("peak heap after GC during the catch-up: " + (peak.get() >> 20) + " MiB");
            assertThat(peak.get()).as("peak heap after GC").isLessThan(HEAP_CEILING_BYTES);
        }
    }
}
