package io.mss.e2e;

import io.mss.server.auth.ClientToken;
import io.mss.server.auth.TokenVerifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The token-minting examples of docs/client.md, taken from the doc as written: the JDK-only Java
 * class is compiled and run, the openssl one-liner is run with bash, and the server's own
 * verifier accepts both tokens.
 */
class ClientDocTokenTest {
    private static final Path DOC = Path.of(System.getProperty("user.dir")).getParent().resolve("docs/client.md");
    private final TokenVerifier verifier = new TokenVerifier(TestServer.TOKEN_SECRET, Clock.systemUTC());

    @TempDir
    Path tmp;

    @Test
    void theJdkOnlyJavaExampleMintsTokensTheServerAccepts() throws Exception {
        Path source = Files.createDirectories(tmp.resolve("src")).resolve("ClientTokens.java");
        Files.writeString(source, block("token-java", "java"));
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertThat(javac.run(null, null, null, "-d", classes.toString(), source.toString())).isZero();
        try (URLClassLoader loader = new URLClassLoader(new URL[]{classes.toUri().toURL()})) {
            Method mint = loader.loadClass("ClientTokens")
                    .getMethod("mint", String.class, String.class, String.class, long.class);

            ClientToken signedIn = verifier.verify((String) mint.invoke(null, TestServer.TOKEN_SECRET, "phone-1",
                    "alice \"a\" \\ é", 600L));
            assertThat(signedIn.deviceId()).isEqualTo("phone-1");
            assertThat(signedIn.userId()).isEqualTo("alice \"a\" \\ é");
            assertThat(signedIn.expiresAt()).isBetween(System.currentTimeMillis() + 590_000, System.currentTimeMillis() + 601_000);

            ClientToken anonymous = verifier.verify((String) mint.invoke(null, TestServer.TOKEN_SECRET, "tablet-2",
                    null, 600L));
            assertThat(anonymous.deviceId()).isEqualTo("tablet-2");
            assertThat(anonymous.userId()).isNull();
        }
    }

    @Test
    void theOpensslOneLinerMintsTokensTheServerAccepts() throws Exception {
        Path script = Files.writeString(tmp.resolve("mint.sh"), block("token-sh", "sh"));
        ProcessBuilder builder = new ProcessBuilder("bash", script.toString());
        builder.environment().put("DEVICE_ID", "phone-1");
        builder.environment().put("USER_ID", "alice");
        builder.environment().put("MSS_TOKEN_SECRET", TestServer.TOKEN_SECRET);
        Process process = builder.redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(out).isZero();

        ClientToken token = verifier.verify(out);
        assertThat(token.deviceId()).isEqualTo("phone-1");
        assertThat(token.userId()).isEqualTo("alice");
        assertThat(token.expiresAt()).isGreaterThan(System.currentTimeMillis() + 3_500_000);
    }

    /** The fenced block right after {@code <!-- marker -->} in docs/client.md. */
    private static String block(String marker, String language) throws Exception {
        String doc = Files.readString(DOC);
        int at = doc.indexOf("<!-- " + marker + " -->");
        assertThat(at).as(marker + " in " + DOC).isNotNegative();
        String fence = "```" + language + "\n";
        int start = doc.indexOf(fence, at) + fence.length();
        return doc.substring(start, doc.indexOf("```", start));
    }
}
