package io.mss.cli;

import io.mss.server.backup.DataDirBackup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "backup", mixinStandardHelpOptions = true,
        description = {"Takes a consistent copy of a node's data dir while its server keeps running.",
                "The store and operation records (RocksDB), the secrets, API keys and TLS files; not client state."})
final class BackupCommand implements Callable<Integer> {
    @Mixin
    DataDirOption data;

    @Option(names = "--to", required = true, paramLabel = "DIR", description = "A new or empty directory for the backup.")
    Path to;

    @Override
    public Integer call() throws Exception {
        DataDirBackup.Summary summary = DataDirBackup.backup(data.dataDir, to, Main.Version.release());
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("backup", summary.dir().toAbsolutePath().normalize().toString());
        answer.put("storeKeys", summary.storeKeys());
        answer.put("recordKeys", summary.recordKeys());
        answer.put("files", summary.files());
        System.out.println(ApiClient.JSON.writeValueAsString(answer));
        return 0;
    }
}
