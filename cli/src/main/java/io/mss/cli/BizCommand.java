package io.mss.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "biz", mixinStandardHelpOptions = true, description = "Manages sync configurations (bizTypes).",
        subcommands = {BizCommand.List.class, BizCommand.Get.class, BizCommand.Create.class, BizCommand.Delete.class})
final class BizCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists every bizType.")
    static final class List implements Callable<Integer> {
        @Mixin
        ApiOptions api;

        @Override
        public Integer call() throws Exception {
            return api.client().call("GET", "/api/v1/biz-types", null);
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Shows one bizType.")
    static final class Get implements Callable<Integer> {
        @Mixin
        ApiOptions api;
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() throws Exception {
            return api.client().call("GET", "/api/v1/biz-types/" + id, null);
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Creates a bizType.")
    static final class Create implements Callable<Integer> {
        @Mixin
        ApiOptions api;
        @Parameters(paramLabel = "ID", description = "Uppercase letters, digits and '-'.")
        String id;
        @Option(names = "--range", defaultValue = "APPOINTED", description = "APPOINTED or GLOBAL (default: ${DEFAULT-VALUE}).")
        String range;
        @Option(names = "--target", defaultValue = "USER", description = "USER or DEVICE (default: ${DEFAULT-VALUE}).")
        String target;
        @Option(names = "--retention-days", description = "How long oplogs stay deliverable (default: 30).")
        Integer retentionDays;
        @Option(names = "--description", description = "Free text.")
        String description;

        @Override
        public Integer call() throws Exception {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("id", id);
            body.put("range", range.toUpperCase(java.util.Locale.ROOT));
            body.put("target", target.toUpperCase(java.util.Locale.ROOT));
            if (retentionDays != null) {
                body.put("retentionDays", retentionDays);
            }
            if (description != null) {
                body.put("description", description);
            }
            return api.client().call("POST", "/api/v1/biz-types", body);
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Deletes a bizType.")
    static final class Delete implements Callable<Integer> {
        @Mixin
        ApiOptions api;
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() throws Exception {
            return api.client().call("DELETE", "/api/v1/biz-types/" + id, null);
        }
    }
}
