import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;

/** Fixture: what the SDK uses instead, all in Android API 24; the check must accept it. */
public class UsesRandomAccessFile {
    public static void replace(File from, File to) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(from, "rw")) {
            f.getFD().sync();
        }
        if (!from.renameTo(to)) {
            throw new IOException("cannot rename " + from);
        }
    }
}
