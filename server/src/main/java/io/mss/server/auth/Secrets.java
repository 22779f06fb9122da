package io.mss.server.auth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;

/**
 * The API key and the client token secret. Taken from {@code MSS_API_KEY} and
 * {@code MSS_TOKEN_SECRET} when set; otherwise generated once into the data dir, where the
 * other commands find them with the same {@code --data-dir}.
 *
 * @param apiKeyGenerated whether the API key file was written by this call
 */
public record Secrets(String apiKey, String tokenSecret, Path apiKeyFile, Path tokenSecretFile,
                      boolean apiKeyGenerated, boolean tokenSecretGenerated) {

    public static final String API_KEY_ENV = "MSS_API_KEY";
    public static final String TOKEN_SECRET_ENV = "MSS_TOKEN_SECRET";
    public static final String API_KEY_FILE = "api-key";
    public static final String TOKEN_SECRET_FILE = "token-secret";

    /** Loads from the environment or the data dir, generating missing files. */
    public static Secrets loadOrCreate(Path dataDir, Map<String, String> env) {
        Path keyFile = dataDir.resolve(API_KEY_FILE);
        Path secretFile = dataDir.resolve(TOKEN_SECRET_FILE);
        String apiKey = env.get(API_KEY_ENV);
        String tokenSecret = env.get(TOKEN_SECRET_ENV);
        boolean keyGenerated = false;
        boolean secretGenerated = false;
        if (blank(apiKey)) {
            keyGenerated = !Files.exists(keyFile);
            apiKey = readOrGenerate(keyFile);
        }
        if (blank(tokenSecret)) {
            secretGenerated = !Files.exists(secretFile);
            tokenSecret = readOrGenerate(secretFile);
        }
        return new Secrets(apiKey, tokenSecret, keyFile, secretFile, keyGenerated, secretGenerated);
    }

    /** Loads without writing anything: for commands that talk to a running server. */
    public static String find(Path dataDir, Map<String, String> env, String envName, String fileName) {
        String value = env.get(envName);
        if (!blank(value)) {
            return value;
        }
        Path file = dataDir.resolve(fileName);
        if (!Files.exists(file)) {
            throw new MissingSecretException(envName + " is not set and " + file.toAbsolutePath().normalize()
                    + " does not exist: run this where the server's data dir is, pass it with --data-dir, or set "
                    + envName);
        }
        try {
            return Files.readString(file, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    private static String readOrGenerate(Path file) {
        try {
            if (Files.exists(file)) {
                return Files.readString(file, StandardCharsets.UTF_8).trim();
            }
            Files.createDirectories(file.getParent());
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String value = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, value + "\n", StandardCharsets.UTF_8);
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system: the directory's permissions have to do
            }
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return value;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create " + file, e);
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    /** A tool found neither the environment variable nor the data dir's file; the message says what to pass. */
    public static final class MissingSecretException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        MissingSecretException(String message) {
            super(message);
        }
    }
}
