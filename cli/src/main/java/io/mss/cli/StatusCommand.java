package io.mss.cli;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Shows the delivery status of one oplog: which devices acknowledged it, and when.",
                "--user or --device for an APPOINTED bizType (the linkToken it was pushed to); neither for GLOBAL.",
                "A single-device bizType keeps one sync point per user, shown as device \"(user)\"."})
final class StatusCommand implements Callable<Integer> {
    @Mixin
    ApiOptions api;

    @Option(names = "--biz", required = true, description = "bizType id.")
    String biz;

    @ArgGroup(exclusive = true)
    Target target;

    static final class Target {
        @Option(names = "--user", description = "userId the oplog was pushed to.")
        String user;
        @Option(names = "--device", description = "deviceId the oplog was pushed to.")
        String device;
    }

    @Option(names = "--id", paramLabel = "OPLOG_ID", required = true, description = "The oplogId the push answered with.")
    long id;

    @Override
    public Integer call() throws Exception {
        String linkToken = target == null ? null : target.user != null ? target.user : target.device;
        return api.client().call("GET", "/api/v1/push/" + ApiClient.encode(biz) + "/" + id
                + (linkToken == null ? "" : "?linkToken=" + ApiClient.encode(linkToken)), null);
    }
}
