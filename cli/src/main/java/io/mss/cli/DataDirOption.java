package io.mss.cli;

import io.mss.server.auth.Secrets;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code --data-dir}: where the server keeps its store and secrets, and where tools find them. */
final class DataDirOption {
    @Option(names = "--data-dir", defaultValue = "${MSS_DATA_DIR:-./data}",
            description = "The server's data dir; secrets are read from it unless MSS_API_KEY / "
                    + "MSS_TOKEN_SECRET are set (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    String apiKey() {
        return Secrets.find(dataDir, System.getenv(), Secrets.API_KEY_ENV, Secrets.API_KEY_FILE);
    }

    String tokenSecret() {
        return Secrets.find(dataDir, System.getenv(), Secrets.TOKEN_SECRET_ENV, Secrets.TOKEN_SECRET_FILE);
    }
}
