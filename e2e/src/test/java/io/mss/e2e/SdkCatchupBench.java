package io.mss.e2e;

import io.mss.client.MssClient;

import java.io.File;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;

import com.sun.management.GarbageCollectionNotificationInfo;

/**
 * One SDK catching up, alone in its JVM so that its heap is the SDK's own: started by
 * {@link SdkCatchupBenchmark}, connects, receives and acks {@code expected} oplogs across
 * {@code bizTypes} bizTypes of one user, prints one line
 * {@code RESULT millis heapAfterGcBytes processCpuMillis sdkThreadsCpuMillis}. Peak heap is the
 * largest heap in use right after a collection: the live set, not garbage. CPU is the process's
 * (JIT compilers and GC included) over the timed span, and that of the SDK's own threads
 * ({@code mss-client-*}) from their start: on this shared machine CPU varies less than time.
 */
public final class SdkCatchupBench {
    private SdkCatchupBench() {
    }

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        File cert = new File(args[2]);
        File stateDir = new File(args[3]);
        String deviceId = args[4];
        String userId = args[5];
        int bizTypes = Integer.parseInt(args[6]);
        int expected = Integer.parseInt(args[7]);
        String token = args[8];

        AtomicLong peakAfterGc = new AtomicLong();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ((NotificationEmitter) gc).addNotificationListener((n, h) -> {
                if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
                    return;
                }
                GarbageCollectionNotificationInfo info =
                        GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
                long used = 0;
                for (Map.Entry<String, MemoryUsage> e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
                    if (!e.getKey().contains("Metaspace") && !e.getKey().contains("Code")
                            && !e.getKey().contains("Class")) {
                        used += e.getValue().getUsed();
                    }
                }
                peakAfterGc.accumulateAndGet(used, Math::max);
            }, null, null);
        }

        CountDownLatch done = new CountDownLatch(expected);
        MssClient client = MssClient.builder()
                .server(host, port)
                .trustCertificate(cert)
                .deviceId(deviceId)
                .tokenProvider((did, uid) -> token)
                .stateDir(stateDir)
                .build();
        for (int b = 0; b < bizTypes; b++) {
            client.registerBiz(SdkCatchupBenchmark.bizType(b), m -> {
                client.reportMsgReceived(m);
                done.countDown();
            });
        }
        client.updateUserInfo(userId);
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpuStart = os.getProcessCpuTime();
        long start = System.nanoTime();
        client.appToForeground();
        if (!done.await(10, TimeUnit.MINUTES)) {
            System.out.println("INCOMPLETE " + done.getCount());
            System.exit(2);
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        long processCpu = TimeUnit.NANOSECONDS.toMillis(os.getProcessCpuTime() - cpuStart);
        long sdkCpu = 0;
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (t != null && t.getThreadName().startsWith("mss-client-")) {
                sdkCpu += Math.max(0, threads.getThreadCpuTime(t.getThreadId()));
            }
        }
        client.close();
        System.out.println("RESULT " + millis + " " + peakAfterGc.get() + " " + processCpu + " "
                + TimeUnit.NANOSECONDS.toMillis(sdkCpu));
    }
}
