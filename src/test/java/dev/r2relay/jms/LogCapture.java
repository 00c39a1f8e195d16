package dev.r2relay.jms;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Property;

/** Records every log event of the process (messages and stack traces) while it is open. */
final class LogCapture extends AbstractAppender implements AutoCloseable {

    /** One event as text: level, logger, message and stack trace. */
    record Line(Level level, String logger, String message, String text) {
    }

    private final List<Line> lines = new CopyOnWriteArrayList<>();

    private LogCapture() {
        super("capture-" + System.nanoTime(), null, null, true, Property.EMPTY_ARRAY);
    }

    static LogCapture attach() {
        LogCapture capture = new LogCapture();
        capture.start();
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        Configuration config = context.getConfiguration();
        config.getRootLogger().addAppender(capture, null, null);
        context.updateLoggers();
        return capture;
    }

    @Override
    public void append(LogEvent event) {
        String message = event.getMessage().getFormattedMessage();
        StringBuilder text = new StringBuilder(message);
        if (event.getThrown() != null) {
            StringWriter trace = new StringWriter();
            event.getThrown().printStackTrace(new PrintWriter(trace));
            text.append('\n').append(trace);
        }
        lines.add(new Line(event.getLevel(), event.getLoggerName(), message, text.toString()));
    }

    List<Line> lines() {
        return List.copyOf(lines);
    }

    /** Events of {@code logger} at {@code level} whose message contains {@code fragment}. */
    List<Line> find(String logger, Level level, String fragment) {
        return lines.stream()
                .filter(l -> l.logger().equals(logger) && l.level().equals(level) && l.message().contains(fragment))
                .collect(Collectors.toList());
    }

    String all() {
        return lines.stream().map(Line::text).collect(Collectors.joining("\n"));
    }

    @Override
    public void close() {
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        context.getConfiguration().getRootLogger().removeAppender(getName());
        context.updateLoggers();
        stop();
    }
}
