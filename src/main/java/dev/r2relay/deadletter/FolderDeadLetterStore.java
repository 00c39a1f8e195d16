package dev.r2relay.deadletter;

import dev.r2relay.delivery.AtomicFileWriter;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dead letters as one JSON file per object in a folder. The file is named after a hash of bucket
 * and key (keys are not safe file names), written atomically, and replaced when the same object
 * is dead-lettered again.
 */
public final class FolderDeadLetterStore implements DeadLetterStore {

    private static final Logger LOG = LoggerFactory.getLogger(FolderDeadLetterStore.class);
    private static final String SUFFIX = ".json";

    private final Path folder;

    public FolderDeadLetterStore(Path folder) {
        this.folder = folder.toAbsolutePath().normalize();
    }

    public Path folder() {
        return folder;
    }

    @Override
    public String describe() {
        return folder.toString();
    }

    /** The file holding the letter of bucket and key. */
    public Path fileOf(String bucket, String key) {
        return folder.resolve(DeadLetter.idOf(bucket, key) + SUFFIX);
    }

    @Override
    public void put(DeadLetter letter) throws IOException {
        byte[] json = letter.toJson().getBytes(StandardCharsets.UTF_8);
        AtomicFileWriter.write(new ByteArrayInputStream(json), fileOf(letter.bucket(), letter.key()), json.length,
                null);
    }

    @Override
    public boolean remove(String bucket, String key) throws IOException {
        return Files.deleteIfExists(fileOf(bucket, key));
    }

    @Override
    public List<DeadLetter> list() throws IOException {
        List<DeadLetter> letters = new ArrayList<>();
        if (!Files.isDirectory(folder)) {
            return letters;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(folder, "*" + SUFFIX)) {
            for (Path file : files) {
                try {
                    letters.add(DeadLetter.fromJson(Files.readString(file, StandardCharsets.UTF_8)));
                } catch (IllegalArgumentException | IOException e) {
                    LOG.warn("Skipping {}: not a dead letter ({})", file, e.getMessage());
                }
            }
        }
        letters.sort(Comparator.comparing(DeadLetter::time).thenComparing(DeadLetter::key));
        return letters;
    }
}
