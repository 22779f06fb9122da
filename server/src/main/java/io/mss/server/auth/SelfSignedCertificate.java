package io.mss.server.auth;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * Generates the sync port's certificate at first start: EC P-256, valid for ten years, for
 * localhost, 127.0.0.1, ::1 and this host's name. Clients trust it with {@code --ca} (the
 * certificate file itself) or skip checks with {@code --insecure}.
 */
public final class SelfSignedCertificate {
    public static final String CERT_FILE = "server.crt";
    public static final String KEY_FILE = "server.key";

    private SelfSignedCertificate() {
    }

    /** @return true when new files were written */
    public static boolean createIfMissing(Path certFile, Path keyFile) throws IOException {
        if (Files.exists(certFile) && Files.exists(keyFile)) {
            return false;
        }
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            KeyPair keyPair = generator.generateKeyPair();

            List<GeneralName> names = new ArrayList<>(List.of(
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                    new GeneralName(GeneralName.iPAddress, "::1")));
            String host = hostName();
            if (host != null && !host.equals("localhost")) {
                names.add(new GeneralName(GeneralName.dNSName, host));
            }
            X500Name subject = new X500Name("CN=MSS self-signed");
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
                    new BigInteger(64, new SecureRandom()), Date.from(now.minus(Duration.ofDays(1))),
                    Date.from(now.plus(Duration.ofDays(3650))), subject, keyPair.getPublic());
            builder.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(names.toArray(new GeneralName[0])));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            X509CertificateHolder cert = builder.build(
                    new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate()));

            Files.createDirectories(certFile.toAbsolutePath().getParent());
            Files.createDirectories(keyFile.toAbsolutePath().getParent());
            writePem(keyFile, new JcaPKCS8Generator(keyPair.getPrivate(), null).generate());
            writePem(certFile, cert);
            return true;
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("cannot generate a self-signed certificate", e);
        }
    }

    private static void writePem(Path file, Object object) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter pem = new JcaPEMWriter(text)) {
            pem.writeObject(object);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text.toString(), StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return null;
        }
    }
}
