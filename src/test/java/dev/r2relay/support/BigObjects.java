package dev.r2relay.support;

import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

/** What the -Pbig tests share: a large incompressible object, and the JVM's peak memory. */
public final class BigObjects {

    private BigObjects() {
    }

    /** The object size: -Drelay.big.mib, 4 GiB by default. */
    public static long size() {
        return Long.getLong("relay.big.mib", 4096) << 20;
    }

    /** Writes {@code size} deterministic, incompressible bytes; returns their SHA-256. */
    public static String write(Path file, long size) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] block = new byte[1 << 20];
        new Random(7).nextBytes(block);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long i = 0; i < size / block.length; i++) {
                block[0] = (byte) i;
                block[1] = (byte) (i >> 8);
                sha.update(block);
                out.write(block);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** The SHA-256 of a file, read in 1 MiB blocks. */
    public static String sha256(Path file) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] block = new byte[1 << 20];
        try (var in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(block)) > 0) {
                sha.update(block, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    public static void resetPeaks() {
        System.gc();
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            pool.resetPeakUsage();
        }
    }

    /** Prints the run's figures and writes them to target/{name}.txt. */
    public static void report(String name, String test, long size, long seconds) throws Exception {
        String report = String.format("%s: %d MiB delivered %d s after the application started; -Xmx %d MiB;"
                        + " peak heap used %d MiB; peak RSS (VmHWM) %s", test, size >> 20, seconds,
                Runtime.getRuntime().maxMemory() >> 20, peakHeap() >> 20, peakRss());
        System.out.println(report);
        Files.writeString(Path.of("target", name + ".txt"), report + "\n");
    }

    /** The sum of the heap pools' peaks: an upper bound of the heap in use at any one time. */
    private static long peakHeap() {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        return peak;
    }

    private static String peakRss() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM"))
                    .map(l -> l.substring(6).trim()).findFirst().orElse("unknown");
        } catch (Exception e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }
}
