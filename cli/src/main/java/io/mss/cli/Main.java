package io.mss.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./mss}: one entry point for the server and the tools around it. */
@Command(name = "mss", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "MSS — Mobile Sync Service: ordered, durable server-to-app sync.",
        subcommands = {ServerCommand.class, TokenCommand.class, PushCommand.class, ListenCommand.class,
                BizCommand.class, StatusCommand.class, RecordsCommand.class, KeyCommand.class, BackupCommand.class,
                RestoreCommand.class, NewTimelinesCommand.class,
                BenchPointer.class, CommandLine.HelpCommand.class})
public final class Main {
    @CommandLine.Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT,
            description = "Print the stack trace of a failure.")
    boolean debug;

    public static void main(String[] args) {
        // the client SDK logs through java.util.logging (no dependencies on Android); route it to logback
        org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
        org.slf4j.bridge.SLF4JBridgeHandler.install();
        int code = new CommandLine(new Main())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setParameterExceptionHandler(new UsageErrors())
                .setExecutionExceptionHandler(new Failures())
                .execute(args);
        if (code != 0 || !ServerCommand.RUNNING) {
            System.exit(code);
        }
    }

    /** The version and git commit the build embedded in {@code version.properties}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws java.io.IOException {
            java.util.Properties build = new java.util.Properties();
            try (java.io.InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    build.load(in);
                }
            }
            return new String[]{"mss " + value(build, "version") + " (commit " + value(build, "commit") + ")"};
        }

        /** "0.1.0 (commit abc)", for what a tool writes down about itself, e.g. in a backup. */
        static String release() {
            try {
                return new Version().getVersion()[0].substring("mss ".length());
            } catch (java.io.IOException e) {
                return "unknown";
            }
        }

        /** A value the build did not fill in (no git at build time) is "unknown", not "${...}". */
        private static String value(java.util.Properties build, String key) {
            String value = build.getProperty(key, "").trim();
            return value.isEmpty() || value.startsWith("${") ? "unknown" : value;
        }
    }
}
