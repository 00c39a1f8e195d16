package dev.r2relay.support;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A small tmpfs mounted on a test folder, to give the application a real full or read-only file
 * system (ENOSPC, EROFS) rather than a simulated one. Needs the right to mount (root, as on the CI
 * machine); elsewhere the test is skipped with that reason, unless R2RELAY_REQUIRE_TMPFS=true (CI),
 * where it fails.
 */
public final class TmpfsMount implements AutoCloseable {

    private final Path folder;

    private TmpfsMount(Path folder) {
        this.folder = folder;
    }

    /** Mounts a tmpfs with {@code options} (e.g. {@code size=1m}, {@code ro,size=1m}) on {@code folder}. */
    public static TmpfsMount on(Path folder, String options) throws IOException, InterruptedException {
        Files.createDirectories(folder);
        String failure = run("mount", "-t", "tmpfs", "-o", options, "tmpfs", folder.toString());
        if (failure != null && Boolean.parseBoolean(System.getenv("R2RELAY_REQUIRE_TMPFS"))) {
            throw new AssertionError("cannot mount a tmpfs here (needs root): " + failure
                    + " (R2RELAY_REQUIRE_TMPFS=true)");
        }
        assumeTrue(failure == null, "cannot mount a tmpfs here (needs root): " + failure);
        return new TmpfsMount(folder);
    }

    /** Changes the mount's options in place (e.g. {@code size=8m}, {@code rw}); its files stay. */
    public void remount(String options) throws IOException, InterruptedException {
        String failure = run("mount", "-o", "remount," + options, folder.toString());
        if (failure != null) {
            throw new IOException("remount of " + folder + " failed: " + failure);
        }
    }

    public Path folder() {
        return folder;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        String failure = run("umount", folder.toString());
        if (failure != null && run("umount", "-l", folder.toString()) != null) {
            throw new IOException("umount of " + folder + " failed: " + failure);
        }
    }

    /** Runs a command; returns null when it succeeded, else what it printed. */
    private static String run(String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return String.join(" ", cmd) + ": timed out";
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        return p.exitValue() == 0 ? null : String.join(" ", cmd) + ": " + output;
    }
}
