package dev.r2relay.support;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * The application's main class in a child JVM, as {@code java -jar target/r2-relay.jar} runs it:
 * its own working directory, configured by environment variables, its output captured. Every
 * child is bounded in time and destroyed when a test is done with it or gives up on it.
 */
public final class RelayProcess implements AutoCloseable {

    public static final String MAIN_CLASS = "dev.r2relay.cli.R2RelayMain";
    /** Inherited variables with these prefixes could point a child at real buckets: never passed on. */
    private static final List<String> SCRUBBED_PREFIXES = List.of("R2_", "RELAY_", "AWS_", "CAMEL_");
    /** The INFO line of one delivered object; group 1 is its key. */
    private static final Pattern DELIVERED = Pattern.compile("d\\.r\\.delivered - delivered bucket=\\S+ key=(\\S+) ");

    private final Process process;
    private final Path stdout;
    private final Path stderr;
    private final List<String> command;

    private RelayProcess(Process process, Path stdout, Path stderr, List<String> command) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
        this.command = command;
    }

    /** A child that will run in {@code workDir}. */
    public static Builder in(Path workDir) {
        return new Builder(workDir);
    }

    /** What a finished child left: its exit code and everything it wrote. */
    public record Result(int exitCode, byte[] stdoutBytes, String stderr) {

        public String stdout() {
            return new String(stdoutBytes, StandardCharsets.UTF_8);
        }

        /** Standard output and standard error together, for assertions on everything a user sees. */
        public String output() {
            return stdout() + "\n" + stderr;
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout ---\n" + stdout() + "\n--- stderr ---\n" + stderr;
        }
    }

    public static final class Builder {
        private final Path workDir;
        private final Map<String, String> env = new LinkedHashMap<>();
        private final Map<String, String> systemProperties = new LinkedHashMap<>();
        private Path jar;

        private Builder(Path workDir) {
            this.workDir = workDir;
        }

        public Builder env(String name, String value) {
            env.put(name, value);
            return this;
        }

        public Builder env(Map<String, String> values) {
            env.putAll(values);
            return this;
        }

        public Builder systemProperty(String name, String value) {
            systemProperties.put(name, value);
            return this;
        }

        /**
         * Runs the packaged jar as the README does ({@code java -jar target/r2-relay.jar}, no JVM
         * options), with its own manifest and target/lib, instead of the test class path.
         */
        public Builder jar(Path packaged) {
            this.jar = packaged.toAbsolutePath();
            return this;
        }

        /** Starts the child; close the result (try-with-resources) so that it never outlives the test. */
        public RelayProcess start(String... args) {
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            systemProperties.forEach((k, v) -> command.add("-D" + k + "=" + v));
            if (jar != null) {
                command.add("-jar");
                command.add(jar.toString());
            } else {
                // a short-lived JVM starts faster without the optimising compiler
                command.add("-XX:TieredStopAtLevel=1");
                command.add("-Xmx512m");
                command.add("-cp");
                command.add(applicationClassPath());
                command.add(MAIN_CLASS);
            }
            command.addAll(Arrays.asList(args));
            try {
                Path out = Files.createTempFile("r2relay-stdout-", ".txt");
                Path err = Files.createTempFile("r2relay-stderr-", ".txt");
                ProcessBuilder pb = new ProcessBuilder(command)
                        .directory(workDir.toFile())
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
                pb.environment().keySet().removeIf(k -> SCRUBBED_PREFIXES.stream().anyMatch(k::startsWith));
                pb.environment().putAll(env);
                return new RelayProcess(pb.start(), out, err, command);
            } catch (IOException e) {
                throw new UncheckedIOException("could not start " + MAIN_CLASS, e);
            }
        }

        /** Runs the child to its end; fails the test (after destroying it) if it takes longer than {@code limit}. */
        public Result run(Duration limit, String... args) {
            try (RelayProcess child = start(args)) {
                return child.awaitExit(limit);
            }
        }
    }

    /**
     * The test class path without the test classes: the child sees what the jar ships (its
     * log4j2.properties, not log4j2-test.properties) plus the libraries of target/lib.
     */
    static String applicationClassPath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !Path.of(entry).endsWith(Path.of("target", "test-classes")))
                .collect(Collectors.joining(File.pathSeparator));
    }

    /** Copies the shipped routes/*.camel.yaml into {@code folder} (created if needed) and returns it. */
    public static Path copyShippedRoutes(Path folder) throws IOException {
        Files.createDirectories(folder);
        try (Stream<Path> shipped = Files.list(Path.of("routes"))) {
            for (Path p : (Iterable<Path>) shipped::iterator) {
                if (p.getFileName().toString().endsWith(".camel.yaml")) {
                    Files.copy(p, folder.resolve(p.getFileName()));
                }
            }
        }
        return folder;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Waits for {@code condition} (checked every 20 ms) for at most {@code limit}; fails at once,
     * with the child's output, if the child ends meanwhile.
     */
    public void awaitWhileAlive(String what, Duration limit, Callable<Boolean> condition) {
        Awaitility.await(what).atMost(limit).pollInterval(Duration.ofMillis(20)).until(() -> {
            if (!isAlive()) {
                throw new AssertionError("the application ended early:\n" + awaitExit(limit));
            }
            return condition.call();
        });
    }

    /** The keys of the "delivered" lines in {@code output}, each with how many times it was delivered. */
    public static Map<String, Integer> deliveredKeys(String output) {
        Map<String, Integer> keys = new TreeMap<>();
        Matcher m = DELIVERED.matcher(output);
        while (m.find()) {
            keys.merge(m.group(1), 1, Integer::sum);
        }
        return keys;
    }

    /** What the child has written to standard error so far. */
    public String stderrSoFar() {
        return read(stderr);
    }

    /** Waits for the child to end; destroys it and fails when it outlives {@code limit}. */
    public Result awaitExit(Duration limit) {
        try {
            if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                destroy();
                throw new AssertionError("the child did not end within " + limit + ": " + arguments()
                        + "\n--- stdout ---\n" + read(stdout) + "\n--- stderr ---\n" + read(stderr));
            }
        } catch (InterruptedException e) {
            destroy();
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for the child", e);
        }
        try {
            return new Result(process.exitValue(), Files.readAllBytes(stdout), read(stderr));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Asks the child to stop as a user's Ctrl-C or a service manager would (SIGTERM), so that its
     * shutdown runs, and waits for it to end; destroys it and fails after {@code limit}.
     */
    public Result stop(Duration limit) {
        process.destroy();
        return awaitExit(limit);
    }

    /**
     * Kills the child at once (SIGKILL, as {@code kill -9}): no shutdown hook, no finally block
     * runs. Returns once it is gone.
     */
    public void kill() {
        destroy();
        if (process.isAlive()) {
            throw new AssertionError("the child survived SIGKILL");
        }
    }

    /** The child's process id. */
    public long pid() {
        return process.pid();
    }

    private String arguments() {
        int from = command.contains("-jar") ? command.indexOf("-jar") : command.indexOf(MAIN_CLASS);
        return String.join(" ", command.subList(from, command.size()));
    }

    private void destroy() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String read(Path file) {
        try {
            return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** Destroys the child if it still runs and removes the captured output. */
    @Override
    public void close() {
        if (process.isAlive()) {
            destroy();
        }
        try {
            Files.deleteIfExists(stdout);
            Files.deleteIfExists(stderr);
        } catch (IOException e) {
            // temporary files; the OS cleans up
        }
    }
}
