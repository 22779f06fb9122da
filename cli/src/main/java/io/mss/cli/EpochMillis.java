package io.mss.cli;

import picocli.CommandLine;

import java.time.Instant;
import java.time.format.DateTimeParseException;

/** A point in time on the command line: epoch milliseconds, or an ISO-8601 instant such as 2030-01-31T12:00:00Z. */
final class EpochMillis implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String text = value.trim();
        if (text.matches("\\d{1,18}")) {
            return Long.parseLong(text);
        }
        try {
            return Instant.parse(text).toEpochMilli();
        } catch (DateTimeParseException e) {
            throw new CommandLine.TypeConversionException("'" + value
                    + "' is neither epoch milliseconds nor an ISO-8601 instant (e.g. 2030-01-31T12:00:00Z)");
        }
    }
}
