package io.mss.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import io.mss.client.internal.ScopeKey;
import io.mss.client.internal.SyncPointStore;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Collections;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyncPointStoreTest {
    @TempDir
    File dir;

    private File file() {
        return new File(dir, SyncPointStore.FILE_NAME);
    }

    private File tmpFile() {
        return new File(dir, SyncPointStore.FILE_NAME + ".tmp");
    }

    @Test
    void savedSyncPointsSurviveAReload() throws IOException {
        SyncPointStore store = SyncPointStore.open(dir);
        store.put(ScopeKey.user("notes", "alice"), 42);
        store.put(ScopeKey.device("notes"), 7);
        store.put(ScopeKey.global("news"), 1_000_000_000_000L);
        // separators and encodings must survive in both bizType and owner
        ScopeKey odd = ScopeKey.user("a/b c.d+é|%=:#", "user/with space=x");
        store.put(odd, 3);
        store.save();

        SyncPointStore reloaded = SyncPointStore.open(dir);

        assertThat(reloaded.snapshot()).containsOnly(
                entry(ScopeKey.user("notes", "alice"), 42L),
                entry(ScopeKey.device("notes"), 7L),
                entry(ScopeKey.global("news"), 1_000_000_000_000L),
                entry(odd, 3L));
    }

    @Test
    void unsavedChangesAreNotOnDisk() throws IOException {
        SyncPointStore store = SyncPointStore.open(dir);
        store.put(ScopeKey.device("notes"), 1);
        store.save();
        store.put(ScopeKey.device("notes"), 2);

        assertThat(SyncPointStore.open(dir).get(ScopeKey.device("notes"))).isEqualTo(1L);
    }

    @Test
    void neverLowersASyncPoint() throws IOException {
        SyncPointStore store = SyncPointStore.open(dir);
        assertThat(store.put(ScopeKey.device("notes"), 5)).isTrue();
        assertThat(store.put(ScopeKey.device("notes"), 3)).isFalse();
        assertThat(store.put(ScopeKey.device("notes"), 5)).isFalse();
        assertThat(store.get(ScopeKey.device("notes"))).isEqualTo(5L);
    }

    @Test
    void saveReplacesTheFileThroughATempFile() throws IOException {
        SyncPointStore store = SyncPointStore.open(dir);
        store.put(ScopeKey.device("notes"), 1);
        store.save();
        store.put(ScopeKey.device("notes"), 2);
        store.save();

        assertThat(tmpFile()).doesNotExist();
        assertThat(dir.list()).containsExactly(SyncPointStore.FILE_NAME);
        assertThat(new String(Files.readAllBytes(file().toPath()), StandardCharsets.ISO_8859_1))
                .contains("DEVICE/notes/=2");
    }

    @Test
    void aTempFileLeftByACrashedSaveIsIgnored() throws IOException {
        SyncPointStore store = SyncPointStore.open(dir);
        store.put(ScopeKey.device("notes"), 4);
        store.save();
        // a crash between writing the temp file and the rename: torn, never renamed
        Files.write(tmpFile().toPath(), "DEVICE/notes/=99\nUSER/no".getBytes(StandardCharsets.ISO_8859_1));

        SyncPointStore reloaded = SyncPointStore.open(dir);

        assertThat(reloaded.snapshot()).containsOnly(entry(ScopeKey.device("notes"), 4L));
        assertThat(tmpFile()).doesNotExist();
    }

    @Test
    void malformedLinesAreSkipped() throws IOException {
        Files.write(file().toPath(), Arrays.asList(
                "DEVICE/notes/=3",
                "BOGUS/notes/=4",
                "USER/notes/=5",
                "GLOBAL/news/=not-a-number",
                "no-slashes=6"), StandardCharsets.ISO_8859_1);

        assertThat(SyncPointStore.open(dir).snapshot()).containsOnly(entry(ScopeKey.device("notes"), 3L));
    }

    @Test
    void anUnreadableFileIsMovedAsideAndTheStoreStartsEmpty() throws IOException {
        Files.write(file().toPath(), "DEVICE/notes/=\\uZZZZ\n".getBytes(StandardCharsets.ISO_8859_1));

        SyncPointStore store = SyncPointStore.open(dir);

        assertThat(store.snapshot()).isEmpty();
        assertThat(new File(dir, SyncPointStore.FILE_NAME + ".corrupt")).exists();
    }

    @Test
    void createsAMissingStateDirectory() throws IOException {
        File nested = new File(dir, "a/b/c");
        SyncPointStore store = SyncPointStore.open(nested);
        store.put(ScopeKey.global("news"), 1);
        store.save();

        assertThat(new File(nested, SyncPointStore.FILE_NAME)).isFile();
    }

    @Test
    void sessionViewHasOnlyRegisteredBizTypesAndTheCurrentUsersUserScopes() throws IOException {
        SyncPointStore store = SyncPointStore.open(dir);
        store.put(ScopeKey.user("notes", "alice"), 1);
        store.put(ScopeKey.user("notes", "bob"), 2);
        store.put(ScopeKey.device("notes"), 3);
        store.put(ScopeKey.global("notes"), 4);
        store.put(ScopeKey.user("chat", "alice"), 5);
        store.put(ScopeKey.device("unregistered"), 6);

        assertThat(store.forSession(Arrays.asList("notes", "chat"), "alice")).containsOnly(
                entry(ScopeKey.user("notes", "alice"), 1L),
                entry(ScopeKey.device("notes"), 3L),
                entry(ScopeKey.global("notes"), 4L),
                entry(ScopeKey.user("chat", "alice"), 5L));
        assertThat(store.forSession(Collections.singleton("notes"), "bob")).containsOnly(
                entry(ScopeKey.user("notes", "bob"), 2L),
                entry(ScopeKey.device("notes"), 3L),
                entry(ScopeKey.global("notes"), 4L));
        assertThat(store.forSession(Collections.singleton("notes"), null)).containsOnly(
                entry(ScopeKey.device("notes"), 3L),
                entry(ScopeKey.global("notes"), 4L));
    }

    @Test
    void epochsSurviveAReloadAndLinesWithoutOneAreEpochZero() throws IOException {
        Files.write(file().toPath(), "DEVICE/notes/=12\nGLOBAL/news/=5@99\n".getBytes(StandardCharsets.ISO_8859_1));
        SyncPointStore store = SyncPointStore.open(dir);
        assertThat(store.get(ScopeKey.device("notes"))).isEqualTo(12L);
        assertThat(store.epoch(ScopeKey.device("notes"))).isZero();
        assertThat(store.epoch(ScopeKey.global("news"))).isEqualTo(99);

        // epoch 0 takes the first known epoch; a restart is the only way down
        assertThat(store.put(ScopeKey.device("notes"), 41, 12)).isTrue();
        store.restart(ScopeKey.global("news"), 100);
        store.save();

        SyncPointStore reloaded = SyncPointStore.open(dir);
        assertThat(reloaded.epoch(ScopeKey.device("notes"))).isEqualTo(41);
        assertThat(reloaded.get(ScopeKey.device("notes"))).isEqualTo(12L);
        assertThat(reloaded.epoch(ScopeKey.global("news"))).isEqualTo(100);
        assertThat(reloaded.get(ScopeKey.global("news"))).isEqualTo(0L);
    }

    @Test
    void anIdOfAnotherEpochIsNeverComparedWithTheStoredOne() throws IOException {
        SyncPointStore store = SyncPointStore.open(dir);
        store.put(ScopeKey.device("notes"), 41, 30);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.put(ScopeKey.device("notes"), 42, 31))
                .isInstanceOf(IllegalArgumentException.class);
        // a version 1 server's epoch 0 stays on the stored timeline
        assertThat(store.put(ScopeKey.device("notes"), 0, 31)).isTrue();
        assertThat(store.epoch(ScopeKey.device("notes"))).isEqualTo(41);
        assertThat(store.get(ScopeKey.device("notes"))).isEqualTo(31L);
    }
}
