package dev.r2relay.support;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.LinkOption;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Watches an inbox while the application writes to it and checks every file that shows up under a
 * final (not hidden) name, at the moment the file system reports it: its SHA-256 must be one the
 * test allows for that key. A partial or stale file under a final name, however briefly visible,
 * is recorded as a violation. Temporary files (hidden, {@code .*.r2relay-part}) are ignored.
 */
public final class InboxWatcher implements AutoCloseable {

    private final Path inbox;
    private final Function<String, Set<String>> allowed;
    private final WatchService watch;
    private final Map<WatchKey, Path> folders = new ConcurrentHashMap<>();
    private final List<String> violations = new CopyOnWriteArrayList<>();
    private final Map<String, String> seen = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean stopped;

    private InboxWatcher(Path inbox, Function<String, Set<String>> allowed) throws IOException {
        this.inbox = inbox;
        this.allowed = allowed;
        Files.createDirectories(inbox);
        this.watch = FileSystems.getDefault().newWatchService();
        registerAll(inbox);
        this.thread = new Thread(this::run, "inbox-watcher");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Starts watching {@code inbox} (created if missing). {@code allowed} gives, for a key (the
     * path below the inbox with '/' separators), the SHA-256 values its file may have.
     */
    public static InboxWatcher start(Path inbox, Function<String, Set<String>> allowed) throws IOException {
        return new InboxWatcher(inbox, allowed);
    }

    /** Every file seen under a final name whose bytes were not allowed, with what it held. */
    public List<String> violations() {
        return List.copyOf(violations);
    }

    /** The keys seen so far, with the SHA-256 last seen. */
    public Map<String, String> seen() {
        return Map.copyOf(seen);
    }

    /** Checks every file present now, as a last look (after a kill, before a restart). */
    public void sweep() {
        filesUnder(inbox).forEach(this::check);
    }

    /**
     * Regular files below {@code root}, listed while another process may rename or remove them: an
     * entry that vanishes during the walk is left out, not an error.
     */
    public static List<Path> filesUnder(Path root) {
        List<Path> files = new ArrayList<>();
        collect(root, files, null);
        return files;
    }

    private static void collect(Path folder, List<Path> files, List<Path> folders) {
        if (folders != null) {
            folders.add(folder);
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(folder)) {
            for (Path p : entries) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    collect(p, files, folders);
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    files.add(p);
                }
            }
        } catch (NoSuchFileException | NotDirectoryException e) {
            // removed or replaced meanwhile
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void run() {
        while (!stopped) {
            WatchKey key;
            try {
                key = watch.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
            if (key == null) {
                continue;
            }
            Path folder = folders.get(key);
            try {
                handle(key, folder);
            } catch (RuntimeException | IOException e) {
                violations.add("the watcher failed: " + e);
            }
            if (!key.reset()) {
                folders.remove(key);
            }
        }
    }

    private void handle(WatchKey key, Path folder) throws IOException {
        for (WatchEvent<?> event : key.pollEvents()) {
            if (event.kind() == OVERFLOW) {
                sweep();
                continue;
            }
            Path p = folder.resolve((Path) event.context());
            if (Files.isDirectory(p)) {
                registerAll(p);
            } else {
                check(p);
            }
        }
    }

    private void registerAll(Path root) throws IOException {
        List<Path> dirs = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        collect(root, files, dirs);
        for (Path d : dirs) {
            try {
                folders.put(d.register(watch, ENTRY_CREATE, ENTRY_MODIFY), d);
            } catch (NoSuchFileException e) {
                // removed meanwhile
            }
        }
        // files written before their folder was registered are checked now
        files.forEach(this::check);
    }

    private void check(Path file) {
        if (file.getFileName().toString().startsWith(".")) {
            return;
        }
        String key = inbox.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
        String sha;
        try {
            sha = sha256(file);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            violations.add(key + ": unreadable (" + e + ")");
            return;
        }
        seen.put(key, sha);
        Set<String> ok = allowed.apply(key);
        if (ok == null || !ok.contains(sha)) {
            violations.add(key + ": SHA-256 " + sha + " is none of " + ok);
        }
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[64 * 1024];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                md.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        stopped = true;
        try {
            thread.join(2000);
            watch.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
