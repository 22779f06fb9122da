package io.mss.client.internal;

import org.codehaus.mojo.animal_sniffer.SignatureChecker;
import org.codehaus.mojo.animal_sniffer.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The build's Android API 24 check ({@code animal-sniffer-maven-plugin} in {@code process-classes})
 * really refuses an API above 24: the same checker with the same signature, run on two tiny
 * compiled fixtures, fails the one that uses {@code java.nio.file} and passes the one that uses
 * what the SDK uses instead.
 */
class AndroidApiLevelCheckTest {
    /** Copied there by the dependency plugin from the artifact the build checks against. */
    private static final File SIGNATURE = new File("target/android-signature/android-api-level-24.signature");

    @TempDir
    Path tmp;

    @Test
    void javaNioFilesIsRefused() throws Exception {
        List<String> errors = check("UsesNioFiles");
        assertThat(errors).isNotEmpty();
        assertThat(String.join("\n", errors)).contains("java.nio.file.Files").contains("java.io.File.toPath()");
    }

    @Test
    void randomAccessFileFsyncAndRenameAreAccepted() throws Exception {
        assertThat(check("UsesRandomAccessFile")).isEmpty();
    }

    private List<String> check(String fixture) throws Exception {
        URL source = getClass().getResource("/android-api-fixture/" + fixture + ".java");
        assertThat(source).as("fixture source").isNotNull();
        File classes = tmp.resolve("classes").toFile();
        assertThat(classes.mkdirs()).isTrue();
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int rc = javac.run(null, null, null, "--release", "8", "-d", classes.getPath(),
                new File(source.toURI()).getPath());
        assertThat(rc).as("javac exit code").isZero();

        assertThat(SIGNATURE).as("signature copied by the build").isFile();
        List<String> errors = new ArrayList<>();
        try (InputStream signature = new FileInputStream(SIGNATURE)) {
            SignatureChecker checker = new SignatureChecker(signature, Collections.emptySet(), new Collecting(errors));
            // the plugin sets it too: errors then name the source file and line
            checker.setSourcePath(Collections.singletonList(new File(source.toURI()).getParentFile()));
            checker.process(new File(classes, fixture + ".class"));
            assertThat(checker.isSignatureBroken()).isEqualTo(!errors.isEmpty());
        }
        return errors;
    }

    private static final class Collecting implements Logger {
        private final List<String> errors;

        Collecting(List<String> errors) {
            this.errors = errors;
        }

        @Override public void info(String message) { }
        @Override public void info(String message, Throwable t) { }
        @Override public void debug(String message) { }
        @Override public void debug(String message, Throwable t) { }
        @Override public void warn(String message) { }
        @Override public void warn(String message, Throwable t) { }
        @Override public void error(String message) { errors.add(message); }
        @Override public void error(String message, Throwable t) { errors.add(message); }
    }
}
