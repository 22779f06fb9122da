import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;

/** Fixture: java.nio.file came with Android API 26, so the API 24 check must refuse this. */
public class UsesNioFiles {
    public static void replace(File from, File to) throws IOException {
        Files.move(from.toPath(), to.toPath(), StandardCopyOption.ATOMIC_MOVE);
    }
}
