package io.mss.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./mss}: one entry point for the server and the tools around it. */
@Command(name = "mss", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "MSS — Mobile Sync Service: ordered, durable server-to-app sync.",
        subcommands = {ServerCommand.class, TokenCommand.class, PushCommand.class, ListenCommand.class,
                BizCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
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
