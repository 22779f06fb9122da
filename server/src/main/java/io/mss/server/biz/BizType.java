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
 */
public record BizType(String id, String description, Range range, Target target, boolean multiDevice,
                      boolean persistent, int retentionDays) {

    public enum Range { APPOINTED, GLOBAL }

    public enum Target { USER, DEVICE }

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
        if (description != null && description.length() > 256) {
            problems.add("description must be at most 256 characters");
        }
        return problems;
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
