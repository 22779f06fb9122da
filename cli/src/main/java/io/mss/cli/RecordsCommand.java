package io.mss.cli;

import io.mss.server.records.OperationRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "records", mixinStandardHelpOptions = true,
        description = {"Lists operation records, newest first: bizTypes created, updated and deleted, and pushes.",
                "Records are kept for 90 days. Times are epoch milliseconds or ISO-8601 instants."})
final class RecordsCommand implements Callable<Integer> {
    @Mixin
    ApiOptions api;

    @Option(names = "--type", paramLabel = "TYPE",
            description = "Only this type: ${COMPLETION-CANDIDATES}.")
    OperationRecord.Type type;

    @Option(names = "--biz", paramLabel = "BIZ", description = "Only this bizType.")
    String biz;

    @Option(names = "--from", paramLabel = "TIME", converter = EpochMillis.class, description = "Not before this time.")
    Long from;

    @Option(names = "--to", paramLabel = "TIME", converter = EpochMillis.class, description = "Not after this time.")
    Long to;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "100", description = "At most this many, 1 to 1000 (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() throws Exception {
        List<String> query = new ArrayList<>();
        if (type != null) {
            query.add("type=" + type.name());
        }
        if (biz != null) {
            query.add("bizType=" + ApiClient.encode(biz));
        }
        if (from != null) {
            query.add("from=" + from);
        }
        if (to != null) {
            query.add("to=" + to);
        }
        query.add("limit=" + limit);
        return api.client().call("GET", "/api/v1/records?" + String.join("&", query), null);
    }
}
