package io.mss.cli;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "push", mixinStandardHelpOptions = true,
        description = "Pushes one message through the HTTP API, as a business server would.")
final class PushCommand implements Callable<Integer> {
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

    @Override
    public Integer call() throws Exception {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("bizType", biz);
        if (!target.global) {
            body.put("linkToken", target.user != null ? target.user : target.device);
        }
        body.put("payload", payload);
        if (thirdMsgId != null) {
            body.put("thirdMsgId", thirdMsgId);
        }
        return api.client().call("POST", target.global ? "/api/v1/push/global" : "/api/v1/push", body);
    }
}
