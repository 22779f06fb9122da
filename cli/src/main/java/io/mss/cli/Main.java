package io.mss.cli;

import io.mss.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./mss}: one entry point for the server and the tools around it. */
@Command(name = "mss", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "MSS — Mobile Sync Service: ordered, durable server-to-app sync.",
        subcommands = {ServerCommand.class, TokenCommand.class, PushCommand.class, ListenCommand.class,
                BizCommand.class, StatusCommand.class, RecordsCommand.class, KeyCommand.class,
                BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        // the client SDK logs through java.util.logging (no dependencies on Android); route it to logback
        org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
        org.slf4j.bridge.SLF4JBridgeHandler.install();
        int code = new CommandLine(new Main())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .execute(args);
        if (code != 0 || !ServerCommand.RUNNING) {
            System.exit(code);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[]{"mss " + (version == null ? "development build" : version)};
        }
    }
}
