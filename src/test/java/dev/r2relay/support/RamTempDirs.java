package dev.r2relay.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDirFactory;

/**
 * Puts {@code @TempDir} folders in RAM (/dev/shm) where it exists. Every delivery forces a file,
 * its folder and the ledger to disk; thousands of those cost seconds on a shared disk and
 * nothing in RAM, while the code paths (temporary file, atomic rename, fsync calls) stay the same.
 */
public final class RamTempDirs implements TempDirFactory {

    private static final Path SHM = Path.of("/dev/shm");

    @Override
    public Path createTempDirectory(AnnotatedElementContext element, ExtensionContext extension) throws IOException {
        if (Files.isDirectory(SHM) && Files.isWritable(SHM)) {
            return Files.createTempDirectory(SHM, "r2relay-test-");
        }
        return Files.createTempDirectory("r2relay-test-");
    }
}
