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
    /** scope -> acknowledged oplog id -> payload */
    private final Map<String, Map<Long, String>> acknowledged = new ConcurrentHashMap<>();
    /** device -> scope -> ids in the order the callback saw them */
    private final Map<String, Map<String, List<Long>>> seen = new ConcurrentHashMap<>();
    private final Map<String, String> seenPayloads = new ConcurrentHashMap<>();

    public static String scope(String bizType, String kind, String owner) {
        return bizType + '|' + kind + '|' + (owner == null ? "" : owner);
    }

    /** The push API answered OK (or DUPLICATED_BIZ_ID) with this oplog id. */
    public void acknowledged(String scope, long oplogId, String payload) {
        acknowledged.computeIfAbsent(scope, s -> new ConcurrentHashMap<>()).put(oplogId, payload);
    }

    /** A device's callback received this oplog. */
    public void delivered(String device, String scope, long oplogId, String payload) {
        List<Long> ids = seen.computeIfAbsent(device, d -> new ConcurrentHashMap<>())
                .computeIfAbsent(scope, s -> new ArrayList<>());
        synchronized (ids) {
            ids.add(oplogId);
        }
        seenPayloads.put(device + '#' + scope + '#' + oplogId, payload);
    }

    public int acknowledgedCount(String scope) {
        Map<Long, String> ids = acknowledged.get(scope);
        return ids == null ? 0 : ids.size();
    }

    public int deliveredCount(String device, String scope) {
        List<Long> ids = seen.getOrDefault(device, Map.of()).get(scope);
        if (ids == null) {
            return 0;
        }
        synchronized (ids) {
            return ids.size();
        }
    }

    /** Whether the device has seen every acknowledged oplog of the scope (used to wait). */
    public boolean caughtUp(String device, String scope) {
        Map<Long, String> expected = acknowledged.getOrDefault(scope, Map.of());
        List<Long> ids = seen.getOrDefault(device, Map.of()).get(scope);
        if (ids == null) {
            return expected.isEmpty();
        }
        synchronized (ids) {
            return new TreeSet<>(ids).containsAll(expected.keySet());
        }
    }

    /** The acknowledged ids by scope as of now, for a check while pushes go on ({@link #check(Map, Map)}). */
    public Map<String, Set<Long>> acknowledgedSoFar() {
        Map<String, Set<Long>> copy = new TreeMap<>();
        acknowledged.forEach((scope, ids) -> copy.put(scope, new TreeSet<>(ids.keySet())));
        return copy;
    }

    /** Whether the device has seen every oplog of the scope in {@code upTo} (from {@link #acknowledgedSoFar}). */
    public boolean caughtUp(String device, String scope, Map<String, Set<Long>> upTo) {
        Set<Long> expected = upTo.getOrDefault(scope, Set.of());
        List<Long> ids = seen.getOrDefault(device, Map.of()).get(scope);
        if (ids == null) {
            return expected.isEmpty();
        }
        synchronized (ids) {
            return new TreeSet<>(ids).containsAll(expected);
        }
    }

    /** Checks every (device, scope) pair given: each device must have every acknowledged oplog of its scopes. */
    public Report check(Map<String, ? extends Collection<String>> scopesByDevice) {
        return check(scopesByDevice, null);
    }

    /**
     * As {@link #check(Map)}, while pushes go on: only the oplogs in {@code upTo} (from {@link
     * #acknowledgedSoFar}) count as lost when missing; whatever was delivered is checked for
     * duplicates, order and payload.
     */
    public Report check(Map<String, ? extends Collection<String>> scopesByDevice, Map<String, Set<Long>> upTo) {
        Report report = new Report();
        scopesByDevice.forEach((device, scopes) -> {
            for (String scope : scopes) {
                Map<Long, String> expected = new TreeMap<>(acknowledged.getOrDefault(scope, Map.of()));
                if (upTo != null) {
                    expected.keySet().retainAll(upTo.getOrDefault(scope, Set.of()));
                }
                List<Long> ids;
                List<Long> recorded = seen.getOrDefault(device, Map.of()).get(scope);
                if (recorded == null) {
                    ids = List.of();
                } else {
                    synchronized (recorded) {
                        ids = new ArrayList<>(recorded);
                    }
                }
                report.acknowledged += expected.size();
                report.delivered += ids.size();
                Set<Long> distinct = new TreeSet<>();
                long previous = Long.MIN_VALUE;
                for (long id : ids) {
                    if (!distinct.add(id)) {
                        report.duplicated++;
                        report.problems.add(device + " " + scope + ": id " + id + " delivered more than once");
                    } else if (id < previous) {
                        report.misordered++;
                        report.problems.add(device + " " + scope + ": id " + id + " after " + previous);
                    }
                    previous = Math.max(previous, id);
                    String payload = expected.get(id);
                    if (payload != null && !payload.equals(seenPayloads.get(device + '#' + scope + '#' + id))) {
                        report.corrupted++;
                        report.problems.add(device + " " + scope + ": id " + id + " has a different payload");
                    }
                }
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

    /** What a check found. Clean means nothing lost, duplicated, misordered or corrupted. */
    public static final class Report {
        public long acknowledged;
        public long delivered;
        public long lost;
        public long duplicated;
        public long misordered;
        public long corrupted;
        public final List<String> problems = new ArrayList<>();

        public boolean clean() {
            return lost == 0 && duplicated == 0 && misordered == 0 && corrupted == 0;
        }

        @Override
        public String toString() {
            return "acknowledged=" + acknowledged + " delivered=" + delivered + " lost=" + lost + " duplicated="
                    + duplicated + " misordered=" + misordered + " corrupted=" + corrupted
                    + (problems.isEmpty() ? "" : "\n  " + String.join("\n  ", problems.subList(0, Math.min(30, problems.size()))));
        }
    }
}
