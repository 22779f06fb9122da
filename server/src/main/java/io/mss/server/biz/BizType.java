package io.mss.server.biz;

import io.mss.server.store.Scope;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A sync configuration: one business scenario and how its data is delivered.
 *
 * @param range         APPOINTED: one user or device per push; GLOBAL: everyone
 * @param target        USER: linkToken is a userId; DEVICE: linkToken is a deviceId
 * @param multiDevice   USER only: every device of the user gets every oplog
 * @param persistent    stored and delivered after reconnect (false: online sessions only)
 * @param retentionDays how long oplogs stay deliverable
 * @param rePushMode    ALL: a device gets its whole backlog; THRESHOLD: a backlog above
 *                      {@code rePushThreshold} is cut to its newest oplogs and the device is told FULL_UPDATE
 * @param status        OFFLINE refuses pushes and pauses delivery; ONLINE resumes from the sync points
 * @param upstreamWebhook URL that receives the app's upstream messages of this bizType, or null
 * @param receiptWebhook  URL called when a device acks an oplog of this bizType, or null
 */
public record BizType(String id, String description, Range range, Target target, boolean multiDevice,
                      boolean persistent, int retentionDays, RePushMode rePushMode, int rePushThreshold,
                      Status status, String upstreamWebhook, String receiptWebhook) {

    public enum Range { APPOINTED, GLOBAL }

    public enum Target { USER, DEVICE }

    public enum RePushMode { ALL, THRESHOLD }

    public enum Status { ONLINE, OFFLINE }

    public static final int MAX_REPUSH_THRESHOLD = 100_000;

    /** A configuration with the defaults for everything but its identity and routing. */
    public static BizType of(String id, Range range, Target target) {
        return new BizType(id, "", range, target, target == Target.USER, true, DEFAULT_RETENTION_DAYS,
                RePushMode.ALL, 0, Status.ONLINE, null, null);
    }

    public boolean online() {
        return status != Status.OFFLINE;
    }

    /** Single-device USER delivery: one sync point for the user, the latest device gets each oplog. */
    public boolean singleDevice() {
        return range == Range.APPOINTED && target == Target.USER && !multiDevice;
    }

    public static final Pattern ID = Pattern.compile("[A-Z0-9][A-Z0-9-]{0,63}");
    public static final int DEFAULT_RETENTION_DAYS = 30;

    /** Problems that make this configuration unusable; empty when it is valid. */
    public List<String> problems(int maxRetentionDays) {
        List<String> problems = new ArrayList<>();
        if (id == null || !ID.matcher(id).matches()) {
            problems.add("id must be 1 to 64 uppercase letters, digits and '-', starting with a letter or digit");
        }
        if (range == null) {
            problems.add("range is required: APPOINTED or GLOBAL");
        }
        if (target == null) {
            problems.add("target is required: USER or DEVICE");
        }
        if (multiDevice && target == Target.DEVICE) {
            problems.add("multiDevice applies to target USER only");
        }
        if (retentionDays < 1 || retentionDays > maxRetentionDays) {
            problems.add("retentionDays must be between 1 and " + maxRetentionDays);
        }
        if (rePushMode == RePushMode.THRESHOLD && (rePushThreshold < 1 || rePushThreshold > MAX_REPUSH_THRESHOLD)) {
            problems.add("rePushThreshold must be between 1 and " + MAX_REPUSH_THRESHOLD + " when rePushMode is THRESHOLD");
        }
        if (rePushMode != RePushMode.THRESHOLD && rePushThreshold != 0) {
            problems.add("rePushThreshold applies to rePushMode THRESHOLD only");
        }
        if (!persistent && rePushMode == RePushMode.THRESHOLD) {
            problems.add("rePushMode THRESHOLD needs persistent=true: nothing is kept to re-push");
        }
        if (multiDevice && range == Range.GLOBAL) {
            problems.add("multiDevice applies to range APPOINTED only: GLOBAL reaches every device anyway");
        }
        webhook(problems, "upstreamWebhook", upstreamWebhook);
        webhook(problems, "receiptWebhook", receiptWebhook);
        if (description != null && description.length() > 256) {
            problems.add("description must be at most 256 characters");
        }
        return problems;
    }

    private static void webhook(List<String> problems, String field, String url) {
        if (url != null && !url.isEmpty() && !url.matches("https?://\\S+")) {
            problems.add(field + " must be an http:// or https:// URL");
        }
    }

    /** The scope an APPOINTED push to {@code linkToken} goes to. */
    public Scope scopeForLinkToken(String linkToken) {
        if (range == Range.GLOBAL) {
            return Scope.global(id);
        }
        return target == Target.USER ? Scope.user(id, linkToken) : Scope.device(id, linkToken);
    }

    /**
     * The scope a connected device reads for this bizType, or null when it has none
     * (a USER bizType and a device without a signed-in user).
     */
    public Scope scopeForDevice(String userId, String deviceId) {
        if (range == Range.GLOBAL) {
            return Scope.global(id);
        }
        if (target == Target.DEVICE) {
            return Scope.device(id, deviceId);
        }
        return userId == null || userId.isEmpty() ? null : Scope.user(id, userId);
    }
}
