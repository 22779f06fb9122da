package io.mss.cli;

import io.mss.server.auth.ApiKeys;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code ./mss key create | list | revoke}: API keys with roles in {@code <data-dir>/api-keys.json},
 * stored hashed. Works on the data dir directly, also while the server runs (it rereads the file).
 */
@Command(name = "key", mixinStandardHelpOptions = true,
        description = {"Manages HTTP API keys with roles, kept hashed in <data-dir>/api-keys.json.",
                "Role push may call POST /api/v1/push* and GET /api/v1/push/...; admin may call everything.",
                "The MSS_API_KEY / <data-dir>/api-key key is an admin key with id 'api-key'; it is not listed here."},
        subcommands = {KeyCommand.Create.class, KeyCommand.ListKeys.class, KeyCommand.Revoke.class})
final class KeyCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("mss key: give a subcommand: create, list or revoke (see ./mss key --help)");
        return 2;
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Creates a key and prints it once; only its SHA-256 hash is stored.")
    static final class Create implements Callable<Integer> {
        @Mixin
        DataDirOption data;

        @Option(names = "--role", required = true, description = "push or admin.")
        String role;

        @Option(names = "--id", paramLabel = "NAME", description = "The key's name, recorded as the actor of "
                + "operation records (default: generated).")
        String id;

        @Override
        public Integer call() {
            try {
                ApiKeys.Created created = ApiKeys.create(data.dataDir, ApiKeys.Role.parse(role), id,
                        System.currentTimeMillis());
                System.err.println("created key '" + created.entry().id() + "' with role " + created.entry().role()
                        + "; it is shown only now, store it safely:");
                System.out.println(created.key());
                return 0;
            } catch (IllegalArgumentException e) {
                System.err.println("mss key create: " + e.getMessage());
                return 2;
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists keys: id, role, created (never the keys).")
    static final class ListKeys implements Callable<Integer> {
        @Mixin
        DataDirOption data;

        @Override
        public Integer call() {
            List<ApiKeys.Entry> entries = ApiKeys.list(data.dataDir);
            for (ApiKeys.Entry entry : entries) {
                System.out.println(entry.id() + "\t" + entry.role() + "\t" + Instant.ofEpochMilli(entry.createdAt()));
            }
            if (entries.isEmpty()) {
                System.err.println("no keys in " + data.dataDir.resolve(ApiKeys.FILE)
                        + " (the MSS_API_KEY / api-key file key is an admin key)");
            }
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revokes a key; a running server refuses it within a second.")
    static final class Revoke implements Callable<Integer> {
        @Mixin
        DataDirOption data;

        @Parameters(paramLabel = "ID", description = "The key's id, as `./mss key list` shows it.")
        String id;

        @Override
        public Integer call() {
            if (ApiKeys.revoke(data.dataDir, id)) {
                System.err.println("revoked key '" + id + "'");
                return 0;
            }
            System.err.println("mss key revoke: no key with id '" + id + "'");
            return 1;
        }
    }
}
