package io.mss.cli;

import io.mss.server.auth.Secrets;
import io.mss.server.backup.DataDirBackup;
import io.mss.server.config.ServerConfig;
import io.mss.server.startup.StartupException;
import picocli.CommandLine;

import java.io.PrintWriter;

/**
 * Failures the user can fix — a bad configuration, a data dir or port in use, no secrets found —
 * are one line and exit code 2; the stack trace only with {@code --debug}. Anything else is a
 * bug and keeps its stack trace.
 */
final class Failures implements CommandLine.IExecutionExceptionHandler {
    static final int USER_ERROR = 2;

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parseResult) {
        PrintWriter err = cmd.getErr();
        String name = cmd.getCommandSpec().qualifiedName();
        Throwable known = userError(ex);
        if (known == null) {
            err.println(name + ": unexpected failure: " + ex);
            ex.printStackTrace(err);
            err.flush();
            return 1;
        }
        if (debug(parseResult)) {
            ex.printStackTrace(err);
        }
        err.println(name + ": " + known.getMessage());
        err.flush();
        return USER_ERROR;
    }

    private static Throwable userError(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof StartupException || t instanceof ServerConfig.ConfigException
                    || t instanceof Secrets.MissingSecretException || t instanceof DataDirBackup.BackupException) {
                return t;
            }
        }
        return null;
    }

    /** {@code --debug} anywhere on the command line, before or after the subcommand. */
    static boolean debug(CommandLine.ParseResult parseResult) {
        for (CommandLine.ParseResult p = parseResult; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--debug")) {
                return true;
            }
        }
        return false;
    }
}
