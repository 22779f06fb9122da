package io.mss.client.internal;

import org.codehaus.mojo.animal_sniffer.IgnoreJRERequirement;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Crash-safe file replacement with what Android API level 24 has: {@code java.nio.file} only
 * came with API 26. Files are opened through {@link RandomAccessFile} (whose channel does
 * positional writes, truncate and fsync on every API level), replaced with
 * {@link File#renameTo} (rename(2): atomic on Android, Linux and macOS), and the directory is
 * fsync'd after a rename only where the platform can open a directory; SQLite on Android skips
 * that step too.
 */
final class DurableFiles {
    private static final Logger LOG = Logger.getLogger("io.mss.client");
    /** Desktop JVMs and Android 8+; the directory fsync needs it. */
    private static final boolean HAS_NIO_FILES = classExists("java.nio.file.Files");

    private DurableFiles() {
    }

    /** Opens {@code file} for writing, creating it; {@code truncate} empties it first. */
    static FileChannel openForWrite(File file, boolean truncate) throws IOException {
        RandomAccessFile raf = new RandomAccessFile(file, "rw");
        try {
            if (truncate) {
                raf.setLength(0);
            }
            // closing the channel closes the file
            return raf.getChannel();
        } catch (IOException | RuntimeException e) {
            raf.close();
            throw e;
        }
    }

    /**
     * Moves {@code from} over {@code to}. A platform whose rename does not replace (Windows) gets
     * delete-then-rename; {@link #recover} then finds the complete temp file after a crash.
     */
    static void replace(File from, File to) throws IOException {
        if (from.renameTo(to)) {
            return;
        }
        if (to.exists() && to.delete() && from.renameTo(to)) {
            return;
        }
        throw new IOException("cannot rename " + from + " to " + to);
    }

    /**
     * Before loading {@code file}: a temp file beside it is a replacement that crashed. With the
     * file there, the temp file may be incomplete and is deleted; without it (delete-then-rename
     * was cut short), the temp file was complete and takes its place.
     */
    static void recover(File tmp, File file) {
        if (!tmp.exists()) {
            return;
        }
        if (file.exists()) {
            if (!tmp.delete()) {
                LOG.warning("cannot delete stale " + tmp);
            }
        } else if (!tmp.renameTo(file)) {
            LOG.warning("cannot move " + tmp + " to " + file);
        }
    }

    /** Makes a rename in {@code dir} durable where the platform can fsync a directory; skipped elsewhere. */
    static void syncDirectory(File dir) {
        if (!HAS_NIO_FILES) {
            return;
        }
        try {
            NioDirectory.sync(dir);
        } catch (IOException | RuntimeException | LinkageError e) {
            LOG.log(Level.FINEST, "cannot fsync directory " + dir, e);
        }
    }

    private static boolean classExists(String name) {
        try {
            Class.forName(name, false, DurableFiles.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Loaded only where {@code java.nio.file} exists: on API 24 and 25 it is never touched. */
    @IgnoreJRERequirement
    private static final class NioDirectory {
        static void sync(File dir) throws IOException {
            try (FileChannel ch = FileChannel.open(dir.toPath(), java.nio.file.StandardOpenOption.READ)) {
                ch.force(true);
            }
        }
    }
}
