package io.mss.cli;

import io.mss.server.biz.BizType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "biz", mixinStandardHelpOptions = true, description = "Manages sync configurations (bizTypes).",
        subcommands = {BizCommand.List.class, BizCommand.Get.class, BizCommand.Create.class, BizCommand.Update.class,
                BizCommand.Delete.class})
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
            return api.client().call("GET", "/api/v1/biz-types/" + ApiClient.encode(id), null);
        }
    }

    /** The settings that create and update share; each one is sent only when given. */
    static final class Settings {
        @Option(names = "--description", description = "Free text, up to 256 characters.")
        String description;

        @Option(names = "--retention-days", paramLabel = "DAYS", description = "How long oplogs stay deliverable (default: 30).")
        Integer retentionDays;

        @Option(names = "--multi-device", negatable = true,
                description = "USER + APPOINTED: every device of the user gets every oplog (the default);"
                        + " --no-multi-device: only the user's most recently connected device, once.")
        Boolean multiDevice;

        @Option(names = "--persistent", negatable = true,
                description = "Stored and delivered after reconnects (the default); --no-persistent: only to"
                        + " sessions online at push time, never written to disk.")
        Boolean persistent;

        @Option(names = "--re-push-mode", paramLabel = "ALL|THRESHOLD",
                description = "ALL: a device gets its whole backlog (default); THRESHOLD: a backlog above"
                        + " --re-push-threshold is cut to its newest oplogs and the app told FULL_UPDATE.")
        BizType.RePushMode rePushMode;

        @Option(names = "--re-push-threshold", paramLabel = "N", description = "Backlog size kept with --re-push-mode THRESHOLD.")
        Integer rePushThreshold;

        @Option(names = "--status", paramLabel = "ONLINE|OFFLINE",
                description = "OFFLINE refuses pushes and pauses delivery; ONLINE (default) resumes it.")
        BizType.Status status;

        @Option(names = "--upstream-webhook", paramLabel = "URL",
                description = "http(s) URL that receives the app's upstream messages; \"\" removes it.")
        String upstreamWebhook;

        @Option(names = "--receipt-webhook", paramLabel = "URL",
                description = "http(s) URL POSTed to when a device acknowledges oplogs; \"\" removes it.")
        String receiptWebhook;

        void addTo(Map<String, Object> body) {
            putIfSet(body, "description", description);
            putIfSet(body, "retentionDays", retentionDays);
            putIfSet(body, "multiDevice", multiDevice);
            putIfSet(body, "persistent", persistent);
            putIfSet(body, "rePushMode", rePushMode == null ? null : rePushMode.name());
            putIfSet(body, "rePushThreshold", rePushThreshold);
            putIfSet(body, "status", status == null ? null : status.name());
            putIfSet(body, "upstreamWebhook", upstreamWebhook);
            putIfSet(body, "receiptWebhook", receiptWebhook);
        }

        private static void putIfSet(Map<String, Object> body, String field, Object value) {
            if (value != null) {
                body.put(field, value);
            }
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
        @Mixin
        Settings settings;

        @Override
        public Integer call() throws Exception {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("id", id);
            body.put("range", range.toUpperCase(Locale.ROOT));
            body.put("target", target.toUpperCase(Locale.ROOT));
            settings.addTo(body);
            return api.client().call("POST", "/api/v1/biz-types", body);
        }
    }

    @Command(name = "update", mixinStandardHelpOptions = true,
            description = {"Changes a bizType: only the options given are sent; the rest stay as they are.",
                    "Range and target cannot change (create a new bizType instead)."})
    static final class Update implements Callable<Integer> {
        @Mixin
        ApiOptions api;
        @Parameters(paramLabel = "ID")
        String id;
        @Mixin
        Settings settings;

        @Override
        public Integer call() throws Exception {
            Map<String, Object> body = new LinkedHashMap<>();
            settings.addTo(body);
            return api.client().call("PUT", "/api/v1/biz-types/" + ApiClient.encode(id), body);
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Deletes a bizType. One with stored oplogs is refused (BIZ_TYPE_HAS_DATA) unless --force.")
    static final class Delete implements Callable<Integer> {
        @Mixin
        ApiOptions api;
        @Parameters(paramLabel = "ID")
        String id;
        @Option(names = "--force", description = "Delete it even though it has stored oplogs: they are deleted too.")
        boolean force;

        @Override
        public Integer call() throws Exception {
            return api.client().call("DELETE", "/api/v1/biz-types/" + ApiClient.encode(id) + (force ? "?force=true" : ""),
                    null, java.util.Map.of("BIZ_TYPE_HAS_DATA",
                            id + " has stored oplogs: repeat with --force to delete them with it"));
        }
    }
}
