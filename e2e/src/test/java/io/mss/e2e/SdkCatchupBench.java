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
 * ({@code mss-client-*}) over the same span: on this shared machine CPU varies less than time.
 * {@code -Dmss.bench.tls=conscrypt} makes Conscrypt (the desktop build of Android's TLS provider)
 * this JVM's first provider, so that the SDK's TLS is native instead of the JDK's.
 * Pairs of deviceId and token after the first nine arguments are catch-ups of the same backlog
 * run first, untimed, in this JVM: the timed one then runs with the JIT warm, as in an app that
 * has been running a while.
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
        if ("conscrypt".equals(System.getProperty("mss.bench.tls"))) {
            // native TLS as on Android, for every SSLContext.getInstance("TLS") of this JVM
            java.security.Security.insertProviderAt(org.conscrypt.Conscrypt.newProvider(), 1);
        }
        // then pairs of deviceId and token: untimed catch-ups in this JVM before the timed one
        for (int i = 9; i + 1 < args.length; i += 2) {
            catchUp(host, port, cert, new File(stateDir.getPath() + "-" + args[i]), args[i], userId, bizTypes,
                    expected, args[i + 1]);
        }

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
        Map<String, String[]> tasksBefore = taskCpu();
        long[] timed = catchUp(host, port, cert, stateDir, deviceId, userId, bizTypes, expected, token);
        if (Boolean.getBoolean("mss.bench.threads")) {
            // every thread of the process, the JVM's own (JIT compilers, GC) included, over the timed span
            // per thread id (a thread that ended meanwhile is left out), then summed per name
            Map<String, Long> byName = new java.util.TreeMap<>();
            taskCpu().forEach((tid, now) -> {
                String[] before = tasksBefore.get(tid);
                long delta = Long.parseLong(now[1]) - (before == null ? 0 : Long.parseLong(before[1]));
                byName.merge(now[0], delta, Long::sum);
            });
            byName.forEach((name, ticks) -> System.out.println("THREAD " + name + " " + ticks * 10 + " ms"));
        }
        System.out.println("RESULT " + timed[0] + " " + peakAfterGc.get() + " " + timed[1] + " " + timed[2]);
    }

    /** @return {millis, process CPU ms, the SDK threads' CPU ms}, each over this catch-up only */
    private static long[] catchUp(String host, int port, File cert, File stateDir, String deviceId, String userId,
            int bizTypes, int expected, String token) throws Exception {
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
        Map<Long, Long> sdkCpuStart = sdkThreadsCpu();
        long cpuStart = os.getProcessCpuTime();
        long start = System.nanoTime();
        client.appToForeground();
        if (!done.await(10, TimeUnit.MINUTES)) {
            System.out.println("INCOMPLETE " + done.getCount());
            System.exit(2);
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        long processCpu = TimeUnit.NANOSECONDS.toMillis(os.getProcessCpuTime() - cpuStart);
        long sdkCpu = TimeUnit.NANOSECONDS.toMillis(cpuSince(sdkCpuStart));
        client.close();
        return new long[] {millis, processCpu, sdkCpu};
    }

    /** Linux only: thread id to "name ticks", user+system in clock ticks of 10 ms. */
    private static Map<String, String[]> taskCpu() {
        Map<String, String[]> tasks = new java.util.HashMap<>();
        java.io.File[] dirs = new java.io.File("/proc/self/task").listFiles();
        for (java.io.File task : dirs == null ? new java.io.File[0] : dirs) {
            String stat;
            try {
                stat = new String(java.nio.file.Files.readAllBytes(new java.io.File(task, "stat").toPath()),
                        java.nio.charset.StandardCharsets.US_ASCII);
            } catch (java.io.IOException gone) {
                continue;
            }
            String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[0-9]+$", "#");
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            tasks.put(task.getName(), new String[] {name, String.valueOf(Long.parseLong(f[11]) + Long.parseLong(f[12]))});
        }
        return tasks;
    }

    /** CPU nanos per live {@code mss-client-*} thread; a delta is taken over threads alive at both ends. */
    private static Map<Long, Long> sdkThreadsCpu() {
        Map<Long, Long> cpu = new java.util.HashMap<>();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (t != null && t.getThreadName().startsWith("mss-client-")) {
                cpu.put(t.getThreadId(), Math.max(0, threads.getThreadCpuTime(t.getThreadId())));
            }
        }
        return cpu;
    }

    private static long cpuSince(Map<Long, Long> start) {
        long sum = 0;
        for (Map.Entry<Long, Long> e : sdkThreadsCpu().entrySet()) {
            sum += e.getValue() - start.getOrDefault(e.getKey(), 0L);
        }
        return sum;
    }
}
