package io.mss.e2e;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one delivery invariant checker: given what the push API acknowledged and what each
 * device's callback saw, reports per device and scope every lost, duplicated or misordered
 * oplog. Thread-safe: pushers and callbacks record concurrently.
 *
 * <p>Scopes are named as the client sees them: {@code bizType|USER|userId},
 * {@code bizType|DEVICE|deviceId}, {@code bizType|GLOBAL|}.
 */
public final class DeliveryChecker {
    /** One message a callback saw, or (with {@link #RESTART}) a FULL_UPDATE that started the scope over. */
    private record Delivery(long id, String payload) {
    }

    private static final Delivery RESTART = new Delivery(Long.MIN_VALUE, null);

    /** scope -> acknowledged oplog id -> payload */
    private final Map<String, Map<Long, String>> acknowledged = new ConcurrentHashMap<>();
    /** device -> scope -> what the callback saw, in order, restarts included */
    private final Map<String, Map<String, List<Delivery>>> seen = new ConcurrentHashMap<>();

    public static String scope(String bizType, String kind, String owner) {
        return bizType + '|' + kind + '|' + (owner == null ? "" : owner);
    }

    /** The push API answered OK (or DUPLICATED_BIZ_ID) with this oplog id. */
    public void acknowledged(String scope, long oplogId, String payload) {
        acknowledged.computeIfAbsent(scope, s -> new ConcurrentHashMap<>()).put(oplogId, payload);
    }

    /** A device's callback received this oplog. */
    public void delivered(String device, String scope, long oplogId, String payload) {
        List<Delivery> deliveries = deliveries(device, scope);
        synchronized (deliveries) {
            deliveries.add(new Delivery(oplogId, payload));
        }
    }

    /**
     * The device was told FULL_UPDATE with restart for the scope: it drops what it had and gets the
     * scope again from its retained start. What it saw before is not checked for loss or payload
     * (it may hold an oplog the server no longer has, which is why it was told); what comes after
     * must be whole again.
     */
    public void restarted(String device, String scope) {
        List<Delivery> deliveries = deliveries(device, scope);
        synchronized (deliveries) {
            deliveries.add(RESTART);
        }
    }

    private List<Delivery> deliveries(String device, String scope) {
        return seen.computeIfAbsent(device, d -> new ConcurrentHashMap<>()).computeIfAbsent(scope, s -> new ArrayList<>());
    }

    /** A copy of what the device saw of the scope, restarts included; empty when nothing. */
    private List<Delivery> seen(String device, String scope) {
        List<Delivery> recorded = seen.getOrDefault(device, Map.of()).get(scope);
        if (recorded == null) {
            return List.of();
        }
        synchronized (recorded) {
            return new ArrayList<>(recorded);
        }
    }

    /** What came after the last restart (everything when there was none). */
    private static List<Delivery> lastPass(List<Delivery> deliveries) {
        int restart = deliveries.lastIndexOf(RESTART);
        return deliveries.subList(restart + 1, deliveries.size());
    }

    public int acknowledgedCount(String scope) {
        Map<Long, String> ids = acknowledged.get(scope);
        return ids == null ? 0 : ids.size();
    }

    public int deliveredCount(String device, String scope) {
        return (int) seen(device, scope).stream().filter(d -> d != RESTART).count();
    }

    /** Whether the device has seen every acknowledged oplog of the scope, as acknowledged (used to wait). */
    public boolean caughtUp(String device, String scope) {
        return caughtUp(device, scope, acknowledged.getOrDefault(scope, Map.of()).keySet());
    }

    /** The acknowledged ids by scope as of now, for a check while pushes go on ({@link #check(Map, Map)}). */
    public Map<String, Set<Long>> acknowledgedSoFar() {
        Map<String, Set<Long>> copy = new TreeMap<>();
        acknowledged.forEach((scope, ids) -> copy.put(scope, new TreeSet<>(ids.keySet())));
        return copy;
    }

    /** Whether the device has seen every oplog of the scope in {@code upTo} (from {@link #acknowledgedSoFar}). */
    public boolean caughtUp(String device, String scope, Map<String, Set<Long>> upTo) {
        return caughtUp(device, scope, upTo.getOrDefault(scope, Set.of()));
    }

    /** Every id in {@code expected} came after the last restart with the payload it was acknowledged with. */
    private boolean caughtUp(String device, String scope, Set<Long> expected) {
        Map<Long, String> payloads = acknowledged.getOrDefault(scope, Map.of());
        Map<Long, String> got = new java.util.HashMap<>();
        for (Delivery delivery : lastPass(seen(device, scope))) {
            got.put(delivery.id(), delivery.payload());
        }
        for (long id : expected) {
            if (!got.containsKey(id) || !got.get(id).equals(payloads.get(id))) {
                return false;
            }
        }
        return true;
    }

    /** Checks every (device, scope) pair given: each device must have every acknowledged oplog of its scopes. */
    public Report check(Map<String, ? extends Collection<String>> scopesByDevice) {
        return check(scopesByDevice, null);
    }

    /**
     * As {@link #check(Map)}, while pushes go on: only the oplogs in {@code upTo} (from {@link
     * #acknowledgedSoFar}) count as lost when missing; whatever was delivered is checked for
     * duplicates, order and payload. A restart (FULL_UPDATE) starts a new pass: duplicates and
     * order are checked within each pass, loss and payloads in the last one.
     */
    public Report check(Map<String, ? extends Collection<String>> scopesByDevice, Map<String, Set<Long>> upTo) {
        Report report = new Report();
        scopesByDevice.forEach((device, scopes) -> {
            for (String scope : scopes) {
                Map<Long, String> expected = new TreeMap<>(acknowledged.getOrDefault(scope, Map.of()));
                if (upTo != null) {
                    expected.keySet().retainAll(upTo.getOrDefault(scope, Set.of()));
                }
                List<Delivery> deliveries = seen(device, scope);
                report.acknowledged += expected.size();
                Set<Long> distinct = new TreeSet<>();
                long previous = Long.MIN_VALUE;
                int restartsLeft = java.util.Collections.frequency(deliveries, RESTART);
                for (Delivery delivery : deliveries) {
                    if (delivery == RESTART) {
                        report.restarts++;
                        restartsLeft--;
                        distinct.clear();
                        previous = Long.MIN_VALUE;
                        continue;
                    }
                    long id = delivery.id();
                    report.delivered++;
                    if (!distinct.add(id)) {
                        report.duplicated++;
                        report.problems.add(device + " " + scope + ": id " + id + " delivered more than once");
                    } else if (id < previous) {
                        report.misordered++;
                        report.problems.add(device + " " + scope + ": id " + id + " after " + previous);
                    }
                    previous = Math.max(previous, id);
                    String payload = expected.get(id);
                    if (payload != null && !payload.equals(delivery.payload())) {
                        if (restartsLeft == 0) {
                            report.corrupted++;
                            report.problems.add(device + " " + scope + ": id " + id + " has a different payload");
                        } else {
                            report.problems.add(device + " " + scope + ": id " + id + " had a different payload"
                                    + " before a FULL_UPDATE restart (not counted)");
                        }
                    }
                }
                // after the loop, distinct holds the last pass
                for (long id : expected.keySet()) {
                    if (!distinct.contains(id)) {
                        report.lost++;
                        if (report.lost <= 20) {
                            report.problems.add(device + " " + scope + ": acknowledged id " + id + " never delivered");
                        }
                    }
                }
            }
        });
        return report;
    }

    /** What a check found. Clean means nothing lost, duplicated, misordered or corrupted, and no restart. */
    public static final class Report {
        public long acknowledged;
        public long delivered;
        public long lost;
        public long duplicated;
        public long misordered;
        public long corrupted;
        /** FULL_UPDATE restarts the devices were told; each starts a new pass over the scope. */
        public long restarts;
        public final List<String> problems = new ArrayList<>();

        /** Nothing lost, duplicated, misordered or corrupted, and no device told to start a scope over. */
        public boolean clean() {
            return cleanAcrossRestarts() && restarts == 0;
        }

        /**
         * Nothing lost, duplicated, misordered or corrupted in the last pass over each scope, and none
         * before a restart corrupted: for where a device may rightly be told FULL_UPDATE with restart
         * (a commit in doubt settled on a new timeline). Elsewhere a restart is a bug: use {@link #clean}.
         */
        public boolean cleanAcrossRestarts() {
            return lost == 0 && duplicated == 0 && misordered == 0 && corrupted == 0;
        }

        @Override
        public String toString() {
            return "acknowledged=" + acknowledged + " delivered=" + delivered + " lost=" + lost + " duplicated="
                    + duplicated + " misordered=" + misordered + " corrupted=" + corrupted + " restarts=" + restarts
                    + (problems.isEmpty() ? "" : "\n  " + String.join("\n  ", problems.subList(0, Math.min(30, problems.size()))));
        }
    }
}
