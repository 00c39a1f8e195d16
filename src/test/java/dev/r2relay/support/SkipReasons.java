package dev.r2relay.support;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestExecutionResult.Status;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;

/**
 * Prints every skipped or aborted test with its reason on the build's console, so that a missing
 * server (moto_server, a Docker engine) shows why, not only as a count of skipped tests.
 */
public final class SkipReasons implements TestExecutionListener {

    // the test JVM's own stderr: surefire sends System.out and System.err to report files
    private static final PrintStream CONSOLE =
            new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);

    @Override
    public void executionSkipped(TestIdentifier test, String reason) {
        print(test, reason);
    }

    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (result.getStatus() == Status.ABORTED) {
            print(test, result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
        }
    }

    private static void print(TestIdentifier test, String reason) {
        String name = test.getSource()
                .filter(MethodSource.class::isInstance)
                .map(s -> {
                    MethodSource m = (MethodSource) s;
                    return m.getClassName().substring(m.getClassName().lastIndexOf('.') + 1) + "."
                            + m.getMethodName();
                })
                .orElse(test.getDisplayName());
        CONSOLE.println("[SKIPPED] " + name + ": " + reason);
    }
}
