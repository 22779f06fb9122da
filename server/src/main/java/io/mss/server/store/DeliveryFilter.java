package io.mss.server.store;

import java.util.List;
import java.util.Set;

/**
 * Which devices an oplog is for, decided at delivery: a device that does not match skips the
 * oplog silently (its sync point moves past it). Every part is optional; an absent part
 * matches everything.
 *
 * @param osTypes       the device's reported OS type must be one of these (case-insensitive)
 * @param appMinVersion the device's app version must be at least this (dotted numbers)
 * @param appMaxVersion ... and at most this
 * @param uids          GLOBAL + USER only: the signed-in user must be one of these
 * @param uidFrom       GLOBAL + USER only: the signed-in user, read as a number, must be at least this
 * @param uidTo         ... and at most this
 */
public record DeliveryFilter(Set<String> osTypes, String appMinVersion, String appMaxVersion, Set<String> uids,
                             Long uidFrom, Long uidTo) {

    public static final DeliveryFilter NONE = new DeliveryFilter(Set.of(), null, null, Set.of(), null, null);

    public DeliveryFilter {
        osTypes = osTypes == null ? Set.of() : Set.copyOf(osTypes.stream().map(o -> o.toLowerCase(java.util.Locale.ROOT)).toList());
        uids = uids == null ? Set.of() : Set.copyOf(uids);
        appMinVersion = blankToNull(appMinVersion);
        appMaxVersion = blankToNull(appMaxVersion);
    }

    public boolean isNone() {
        return osTypes.isEmpty() && appMinVersion == null && appMaxVersion == null && uids.isEmpty()
                && uidFrom == null && uidTo == null;
    }

    /** Whether a device that reported {@code osType} and {@code appVersion}, signed in as {@code userId}, gets it. */
    public boolean matches(String osType, String appVersion, String userId) {
        if (!osTypes.isEmpty() && (osType == null || !osTypes.contains(osType.toLowerCase(java.util.Locale.ROOT)))) {
            return false;
        }
        if (appMinVersion != null && (appVersion == null || compareVersions(appVersion, appMinVersion) < 0)) {
            return false;
        }
        if (appMaxVersion != null && (appVersion == null || compareVersions(appVersion, appMaxVersion) > 0)) {
            return false;
        }
        if (!uids.isEmpty() && (userId == null || !uids.contains(userId))) {
            return false;
        }
        if (uidFrom != null || uidTo != null) {
            Long uid = parseUid(userId);
            if (uid == null || (uidFrom != null && uid < uidFrom) || (uidTo != null && uid > uidTo)) {
                return false;
            }
        }
        return true;
    }

    /** Whether a dotted version such as {@code 3.10.2} is well-formed. */
    public static boolean validVersion(String version) {
        return version != null && version.matches("\\d{1,9}(\\.\\d{1,9}){0,5}");
    }

    /** Compares dotted versions numerically part by part; missing parts count as 0. Malformed sorts lowest. */
    public static int compareVersions(String a, String b) {
        if (!validVersion(a)) {
            return validVersion(b) ? -1 : 0;
        }
        if (!validVersion(b)) {
            return 1;
        }
        List<String> left = List.of(a.split("\\."));
        List<String> right = List.of(b.split("\\."));
        for (int i = 0; i < Math.max(left.size(), right.size()); i++) {
            long l = i < left.size() ? Long.parseLong(left.get(i)) : 0;
            long r = i < right.size() ? Long.parseLong(right.get(i)) : 0;
            if (l != r) {
                return Long.compare(l, r);
            }
        }
        return 0;
    }

    private static Long parseUid(String userId) {
        if (userId == null) {
            return null;
        }
        try {
            return Long.parseLong(userId);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
