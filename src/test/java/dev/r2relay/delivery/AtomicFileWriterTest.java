package dev.r2relay.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileWriterTest {

    private static final byte[] BODY = "the object's bytes\n".getBytes(StandardCharsets.UTF_8);
    /** {@code printf "the object's bytes\n" | md5sum} */
    private static final String BODY_MD5 = "f4accb0d8e5e030e90361f58f7ae6bf8";
    /** {@code printf "something else" | md5sum} */
    private static final String OTHER_MD5 = "6c7ba9c5a141421e1c03cb9807c97c74";

    @TempDir
    Path folder;

    @Test
    void writesTheBytesAndReportsSizeAndMd5() throws IOException {
        Path target = folder.resolve("a.txt");

        AtomicFileWriter.Written written = AtomicFileWriter.write(in(BODY), target, BODY.length, BODY_MD5);

        assertThat(target).hasBinaryContent(BODY);
        assertThat(written.size()).isEqualTo(BODY.length);
        assertThat(written.md5()).isEqualTo(BODY_MD5);
        assertThat(entries(folder)).containsExactly(target);
    }

    @Test
    void sizeMismatchLeavesNoFileUnderTheFinalNameAndNoTemporaryFile() {
        Path target = folder.resolve("a.txt");

        assertThatThrownBy(() -> AtomicFileWriter.write(in(BODY), target, BODY.length + 1, BODY_MD5))
                .isInstanceOf(AtomicFileWriter.IntegrityException.class)
                .hasMessageContaining("received " + BODY.length + " bytes, expected " + (BODY.length + 1));

        assertThat(target).doesNotExist();
        assertThat(entries(folder)).isEmpty();
    }

    @Test
    void md5MismatchLeavesNoFileUnderTheFinalNameAndNoTemporaryFile() {
        Path target = folder.resolve("a.txt");

        assertThatThrownBy(() -> AtomicFileWriter.write(in(BODY), target, BODY.length, OTHER_MD5))
                .isInstanceOf(AtomicFileWriter.IntegrityException.class)
                .hasMessageContaining(BODY_MD5)
                .hasMessageContaining(OTHER_MD5);

        assertThat(target).doesNotExist();
        assertThat(entries(folder)).isEmpty();
    }

    @Test
    void failedCheckLeavesAnEarlierFileUnderTheFinalNameUntouched() throws IOException {
        Path target = folder.resolve("a.txt");
        Files.writeString(target, "earlier version");

        assertThatThrownBy(() -> AtomicFileWriter.write(in(BODY), target, BODY.length, OTHER_MD5))
                .isInstanceOf(AtomicFileWriter.IntegrityException.class);

        assertThat(target).hasContent("earlier version");
        assertThat(entries(folder)).containsExactly(target);
    }

    @Test
    void replacesAnExistingFile() throws IOException {
        Path target = folder.resolve("a.txt");
        Files.writeString(target, "earlier version, longer than the new one to show it is not overwritten in place");

        AtomicFileWriter.write(in(BODY), target, BODY.length, BODY_MD5);

        assertThat(target).hasBinaryContent(BODY);
        assertThat(entries(folder)).containsExactly(target);
    }

    @Test
    void multipartEtagSkipsTheMd5CheckButNotTheSizeCheck() throws IOException {
        Path target = folder.resolve("big.bin");
        String multipart = OTHER_MD5 + "-3";

        AtomicFileWriter.Written written = AtomicFileWriter.write(in(BODY), target, BODY.length, multipart);

        assertThat(target).hasBinaryContent(BODY);
        assertThat(written.md5()).isEqualTo(BODY_MD5);
        assertThatThrownBy(() -> AtomicFileWriter.write(in(BODY), folder.resolve("b.bin"), 1, multipart))
                .isInstanceOf(AtomicFileWriter.IntegrityException.class);
        assertThat(folder.resolve("b.bin")).doesNotExist();
    }

    @Test
    void md5EtagIsComparedWithoutRegardToCase() throws IOException {
        Path target = folder.resolve("a.txt");

        AtomicFileWriter.write(in(BODY), target, BODY.length, BODY_MD5.toUpperCase());

        assertThat(target).hasBinaryContent(BODY);
    }

    @Test
    void unknownSizeAndEtagSkipBothChecks() throws IOException {
        Path target = folder.resolve("a.txt");

        AtomicFileWriter.write(in(BODY), target, -1, null);

        assertThat(target).hasBinaryContent(BODY);
    }

    @Test
    void streamBreakingMidwayLeavesNothingBehind() {
        Path target = folder.resolve("a.txt");
        InputStream breaking = new SequenceInputStream(in(BODY), new InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("connection reset");
            }
        });

        assertThatThrownBy(() -> AtomicFileWriter.write(breaking, target, BODY.length * 2L, null))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("connection reset");

        assertThat(entries(folder)).isEmpty();
    }

    @Test
    void createsMissingFolders() throws IOException {
        Path target = folder.resolve("x/y/z/a.txt");

        AtomicFileWriter.write(in(BODY), target, BODY.length, BODY_MD5);

        assertThat(target).hasBinaryContent(BODY);
    }

    @Test
    void neverReplacesAFolderWithAFile() throws IOException {
        Path target = folder.resolve("a");
        Files.createDirectories(target.resolve("inside"));

        assertThatThrownBy(() -> AtomicFileWriter.write(in(BODY), target, BODY.length, BODY_MD5))
                .isInstanceOf(FileAlreadyExistsException.class);

        assertThat(target.resolve("inside")).isDirectory();
        assertThat(entries(folder)).containsExactly(target);
    }

    @Test
    void refusesAFolderPathThroughAnExistingFile() throws IOException {
        Files.writeString(folder.resolve("a"), "a file");

        assertThatThrownBy(() -> AtomicFileWriter.write(in(BODY), folder.resolve("a/b.txt"), BODY.length, BODY_MD5))
                .isInstanceOf(NotDirectoryException.class);

        assertThat(folder.resolve("a")).hasContent("a file");
    }

    private static InputStream in(byte[] bytes) {
        return new ByteArrayInputStream(bytes);
    }

    /** Every file and folder directly in {@code dir}, hidden ones included. */
    private static List<Path> entries(Path dir) {
        try (Stream<Path> list = Files.list(dir)) {
            return list.toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
