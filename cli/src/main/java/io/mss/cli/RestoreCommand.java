package io.mss.cli;

import io.mss.server.backup.DataDirBackup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "restore", mixinStandardHelpOptions = true,
        description = {"Puts a backup in place of a data dir whose server is stopped.",
                "What the data dir held is moved into <data-dir>/before-restore-<time>/, not deleted."})
final class RestoreCommand implements Callable<Integer> {
    @Mixin
    DataDirOption data;

    @Option(names = "--from", required = true, paramLabel = "DIR", description = "A directory made by ./mss backup.")
    Path from;

    @Override
    public Integer call() throws Exception {
        Path aside = DataDirBackup.restore(from, data.dataDir);
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("restored", data.dataDir.toAbsolutePath().normalize().toString());
        answer.put("from", from.toAbsolutePath().normalize().toString());
        answer.put("previousContents", aside == null ? null : aside.toString());
        System.out.println(ApiClient.JSON.writeValueAsString(answer));
        return 0;
    }
}
