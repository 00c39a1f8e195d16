package dev.r2relay.delivery;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;

/** The inbox could not take a file (read-only, full, not a folder): the object's bytes are not at fault. */
public final class InboxWriteException extends IOException {

    public InboxWriteException(Path inbox, String key, IOException cause) {
        super("cannot write to the inbox " + inbox + " (relay.inbox, RELAY_INBOX): " + reason(cause) + " (writing '"
                + RejectedKeyException.printable(key) + "')", cause);
    }

    static String reason(IOException e) {
        return reason(e, true);
    }

    /** The operating system's reason ("No space left on device"), with the file it concerns if asked. */
    static String reason(IOException e, boolean withFile) {
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason() + (fs.getFile() == null || !withFile ? "" : " at " + fs.getFile());
        }
        if (e instanceof FileSystemException fs && fs.getFile() != null) {
            return (e instanceof java.nio.file.FileAlreadyExistsException ? "a file has the name " : "")
                    + fs.getFile();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
