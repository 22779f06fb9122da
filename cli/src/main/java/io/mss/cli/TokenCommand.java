package io.mss.cli;

import io.mss.server.auth.TokenVerifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Clock;
import java.util.concurrent.Callable;

@Command(name = "token", mixinStandardHelpOptions = true,
        description = "Mints a client token (JWT, HS256) as a business server would; for tests and trials.")
final class TokenCommand implements Callable<Integer> {
    @Mixin
    DataDirOption data;

    @Option(names = "--device", required = true, description = "deviceId (the 'did' claim).")
    String device;

    @Option(names = "--user", description = "userId (the 'sub' claim); omit for an anonymous device.")
    String user;

    @Option(names = "--ttl", defaultValue = "86400", description = "Seconds until it expires (default: ${DEFAULT-VALUE}).")
    long ttlSeconds;

    @Override
    public Integer call() {
        System.out.println(new TokenVerifier(data.tokenSecret(), Clock.systemUTC()).mint(device, user, ttlSeconds));
        return 0;
    }
}
