package io.mss.cli;

import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

@Command(name = "push", mixinStandardHelpOptions = true,
        description = {"Pushes one message through the HTTP API, as a business server would.",
                "Times are epoch milliseconds or ISO-8601 instants (2030-01-31T12:00:00Z)."})
final class PushCommand implements Callable<Integer> {
    private static final Pattern UID_RANGE = Pattern.compile("(\\d+)-(\\d+)");

    @Spec
    CommandSpec spec;

    @Mixin
    ApiOptions api;

    @Option(names = "--biz", required = true, description = "bizType id.")
    String biz;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
        @Option(names = "--user", description = "userId (for a bizType with target USER).")
        String user;
        @Option(names = "--device", description = "deviceId (for a bizType with target DEVICE).")
        String device;
        @Option(names = "--global", description = "everyone (for a bizType with range GLOBAL).")
        boolean global;
    }

    @Option(names = "--payload", required = true, description = "The data, up to 4096 characters.")
    String payload;

    @Option(names = "--third-msg-id", description = "Idempotency key: the same key is stored once.")
    String thirdMsgId;

    @Option(names = "--valid-from", paramLabel = "TIME", converter = EpochMillis.class,
            description = "Not delivered before this time.")
    Long validFrom;

    @Option(names = "--valid-to", paramLabel = "TIME", converter = EpochMillis.class,
            description = "Not delivered after this time (must be in the future).")
    Long validTo;

    @Option(names = "--os", paramLabel = "OS", split = ",", description = "Only devices reporting one of these OS types, comma-separated (e.g. ios,android).")
    List<String> osTypes;

    @Option(names = "--app-min-version", paramLabel = "VERSION", description = "Only app versions at least this (dotted numbers, e.g. 3.2).")
    String appMinVersion;

    @Option(names = "--app-max-version", paramLabel = "VERSION", description = "Only app versions at most this.")
    String appMaxVersion;

    @Option(names = "--uids", paramLabel = "UID", split = ",", description = "With --global: only these userIds (up to 10,000).")
    List<String> uids;

    @Option(names = "--uid-range", paramLabel = "FROM-TO", description = "With --global: only numeric userIds in this range, e.g. 1000-1999.")
    String uidRange;

    @Override
    public Integer call() throws Exception {
        if (!target.global && (uids != null || uidRange != null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--uids and --uid-range need --global");
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("bizType", biz);
        if (!target.global) {
            body.put("linkToken", target.user != null ? target.user : target.device);
        }
        body.put("payload", payload);
        if (thirdMsgId != null) {
            body.put("thirdMsgId", thirdMsgId);
        }
        if (validFrom != null) {
            body.put("validTimeStart", validFrom);
        }
        if (validTo != null) {
            body.put("validTimeEnd", validTo);
        }
        if (osTypes != null) {
            body.put("osType", osTypes.size() == 1 ? osTypes.get(0) : osTypes);
        }
        if (appMinVersion != null) {
            body.put("appMinVersion", appMinVersion);
        }
        if (appMaxVersion != null) {
            body.put("appMaxVersion", appMaxVersion);
        }
        if (uids != null) {
            body.put("uidList", uids);
        }
        if (uidRange != null) {
            Matcher range = UID_RANGE.matcher(uidRange.trim());
            if (!range.matches()) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--uid-range must be FROM-TO with whole numbers, e.g. 1000-1999; got '" + uidRange + "'");
            }
            Map<String, Object> bounds = new LinkedHashMap<>();
            bounds.put("from", Long.parseLong(range.group(1)));
            bounds.put("to", Long.parseLong(range.group(2)));
            body.put("uidRange", bounds);
        }
        return api.client().call("POST", target.global ? "/api/v1/push/global" : "/api/v1/push", body);
    }
}
