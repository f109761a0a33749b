package dev.sprout.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Routes the JDK's System.Logger output to standard error, one line per event: standard output
 * may be carrying NBD traffic (-s) or a captive command's output.
 */
final class LogSetup {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS");

    /** Held strongly: the logging framework keeps only weak references to configured loggers. */
    private static final Logger SPROUT = Logger.getLogger("dev.sprout");

    private LogSetup() {
    }

    static void configure(boolean verbose, boolean quiet) {
        Logger root = Logger.getLogger("");
        for (var handler : root.getHandlers()) {
            root.removeHandler(handler);
        }
        Level level = verbose ? Level.FINE : quiet ? Level.WARNING : Level.INFO;
        ConsoleHandler handler = new ConsoleHandler();
        handler.setLevel(level);
        handler.setFormatter(new LineFormat());
        root.addHandler(handler);
        // Debug detail for sprout only: the JDK logs its own internals at FINE.
        root.setLevel(verbose ? Level.INFO : level);
        SPROUT.setLevel(level);
    }

    /** {@code 2026-11-22T02:18:04.123 sprout WARNING: conn 3: closing: bad request magic}. */
    private static final class LineFormat extends Formatter {
        @Override
        public String format(LogRecord record) {
            StringBuilder line = new StringBuilder(128)
                    .append(LocalDateTime.now().format(TIME)).append(" sprout ")
                    .append(record.getLevel() == Level.FINE ? "DEBUG" : record.getLevel().getName())
                    .append(": ").append(formatMessage(record)).append(System.lineSeparator());
            if (record.getThrown() != null) {
                StringWriter trace = new StringWriter();
                record.getThrown().printStackTrace(new PrintWriter(trace));
                line.append(trace);
            }
            return line.toString();
        }
    }
}
