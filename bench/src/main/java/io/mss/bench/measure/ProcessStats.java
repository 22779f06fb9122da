package io.mss.bench.measure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CPU, memory and I/O of a server process, read from {@code /proc/<pid>}; the same for every target,
 * so the figures compare. CPU is utime + stime in clock ticks (100 per second on Linux). For a server
 * made of several processes (the nodes of a cluster) every figure is the sum over them.
 */
public final class ProcessStats {
    private static final double TICKS_PER_SECOND = 100.0;
    /** G1's "garbage-first heap", or each of Serial's generations ("def new", "tenured"): summed. */
    private static final Pattern HEAP_USED = Pattern.compile("(?:heap|generation)\\s+total \\d+K, used (\\d+)K");

    private final List<Long> pids;

    public ProcessStats(long pid) {
        this(List.of(pid));
    }

    public ProcessStats(List<Long> pids) {
        this.pids = List.copyOf(pids);
    }

    public long pid() {
        return pids.get(0);
    }

    /** CPU seconds (user + system) the processes have used so far. */
    public double cpuSeconds() {
        double total = 0;
        for (long pid : pids) {
            total += cpuSeconds(pid);
        }
        return total;
    }

    /** CPU seconds of one process; NaN when it cannot be read (gone, or not on this machine). */
    public static double cpuSeconds(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            // the command name may hold spaces; fields after it are fixed: utime is 14th, stime 15th overall
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / TICKS_PER_SECOND;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** Resident set size in bytes. */
    public long rssBytes() {
        long total = 0;
        for (long pid : pids) {
            total += statusField(pid, "VmRSS:") * 1024;
        }
        return total;
    }

    /** Bytes the processes read and wrote through system calls (sockets and files): rchar + wchar. */
    public long ioBytes() {
        long total = 0;
        for (long pid : pids) {
            long bytes = ioBytes(pid);
            if (bytes < 0) {
                return -1;
            }
            total += bytes;
        }
        return total;
    }

    private static long ioBytes(long pid) {
        try {
            long total = 0;
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "io"))) {
                if (line.startsWith("rchar:") || line.startsWith("wchar:")) {
                    total += Long.parseLong(line.substring(6).trim());
                }
            }
            return total;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static long statusField(long pid, String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
                if (line.startsWith(name)) {
                    return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** Heap in use after a full GC, in bytes, summed over the JVMs; -1 when jcmd cannot tell. */
    public long heapAfterGc() {
        long total = 0;
        for (long pid : pids) {
            long heap = heapAfterGc(pid);
            if (heap < 0) {
                return -1;
            }
            total += heap;
        }
        return total;
    }

    private static long heapAfterGc(long pid) {
        try {
            run("jcmd", String.valueOf(pid), "GC.run");
            String info = run("jcmd", String.valueOf(pid), "GC.heap_info");
            return heapUsed(info);
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** Bytes in use from {@code jcmd GC.heap_info}'s output, or -1 when it names no heap. */
    static long heapUsed(String heapInfo) {
        Matcher m = HEAP_USED.matcher(heapInfo);
        long kb = 0;
        boolean found = false;
        while (m.find()) {
            kb += Long.parseLong(m.group(1));
            found = true;
        }
        if (!found) {
            System.err.println("bench: no heap figure in jcmd GC.heap_info: " + heapInfo.strip());
        }
        return found ? kb * 1024 : -1;
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        p.waitFor(30, TimeUnit.SECONDS);
        return new String(out, java.nio.charset.StandardCharsets.UTF_8);
    }
}
