package io.mss.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * A mistyped command line gets the error, a suggestion when one is close, and a one-line hint
 * where the help is — not the whole help, which would scroll the error away.
 */
final class UsageErrors implements CommandLine.IParameterExceptionHandler {
    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        String name = cmd.getCommandSpec().qualifiedName();
        // a mistyped option also leaves a required one "missing": the typo is the news
        List<String> unmatched = ex instanceof UnmatchedArgumentException u ? u.getUnmatched()
                : cmd.getUnmatchedArguments();
        if (unmatched.isEmpty()) {
            err.println(name + ": " + ex.getMessage());
        } else {
            String first = unmatched.get(0);
            boolean option = first.startsWith("-");
            String word = option ? first.split("=", 2)[0] : first;
            String kind = option ? "option" : cmd.getSubcommands().isEmpty() ? "argument" : "command";
            err.println(name + ": unknown " + kind + " '" + word + "'");
            List<String> close = Suggestions.closest(word, option ? optionNames(cmd.getCommandSpec())
                    : cmd.getSubcommands().keySet());
            if (!close.isEmpty()) {
                err.println("Did you mean " + String.join(" or ", close.stream()
                        .map(c -> "'" + (option ? c : name + " " + c) + "'")
                        .toList()) + "?");
            }
        }
        err.println("Try './" + name + " --help' for more.");
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    private static List<String> optionNames(CommandSpec spec) {
        List<String> names = new ArrayList<>();
        spec.options().forEach(o -> names.addAll(List.of(o.names())));
        return names;
    }
}
