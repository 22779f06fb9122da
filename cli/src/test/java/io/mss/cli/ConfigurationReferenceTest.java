package io.mss.cli;

import io.mss.server.config.ServerConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/configuration.md and the sample deploy/mss.yaml cannot drift from {@link ServerConfig}:
 * every setting, its default, its environment variable and its flag are checked against the
 * server itself.
 */
class ConfigurationReferenceTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    /** {@code | `setting` | default | environment | flag | what |} */
    private static final Pattern ROW = Pattern.compile(
            "^\\| `([a-z0-9-]+)` \\| `([^`]*)` \\| (`[A-Z0-9_]+`|—) \\| (`--[a-z-]+`|—) \\| .+\\|$");

    record Row(String setting, String defaultValue, String env, String flag) {
    }

    @Test
    void everySettingIsDocumentedWithItsDefaultAndNothingElseIs() throws Exception {
        Map<String, Row> rows = rows();
        Map<String, Field> fields = fields();
        assertThat(new TreeSet<>(rows.keySet())).as("settings in docs/configuration.md")
                .isEqualTo(new TreeSet<>(fields.keySet()));
        ServerConfig defaults = new ServerConfig();
        for (Row row : rows.values()) {
            assertThat(row.defaultValue()).as("default of " + row.setting())
                    .isEqualTo(String.valueOf(fields.get(row.setting()).get(defaults)).replaceFirst("^$", "\"\""));
        }
    }

    @Test
    void theDocumentedEnvironmentVariablesAreTheOnesTheServerReads() throws Exception {
        Map<String, Field> fields = fields();
        for (Row row : rows().values()) {
            Field field = fields.get(row.setting());
            String conventional = "MSS_" + row.setting().toUpperCase().replace('-', '_');
            if (row.env().equals("—")) {
                assertThat(changes(field, conventional)).as(row.setting() + " reads " + conventional
                        + ", which docs/configuration.md does not name").isFalse();
            } else {
                String env = row.env().replace("`", "");
                assertThat(changes(field, env)).as(row.setting() + " is documented as read from " + env).isTrue();
            }
        }
    }

    @Test
    void theDocumentedFlagsAreTheServerCommandsOptions() throws Exception {
        CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.forAnnotatedObject(new ServerCommand());
        TreeSet<String> options = spec.options().stream().map(CommandLine.Model.OptionSpec::longestName)
                .filter(name -> !List.of("--config", "--help", "--version").contains(name))
                .collect(Collectors.toCollection(TreeSet::new));
        TreeSet<String> documented = rows().values().stream().map(Row::flag).filter(f -> !f.equals("—"))
                .map(f -> f.replace("`", "")).collect(Collectors.toCollection(TreeSet::new));
        assertThat(documented).isEqualTo(options);
    }

    @Test
    void theSampleMssYamlHasEverySettingAtItsDefault() throws Exception {
        String sample = Files.readString(ROOT.resolve("deploy/mss.yaml"));
        // uncommented, the sample must be a valid configuration that changes nothing
        StringBuilder uncommented = new StringBuilder();
        TreeSet<String> keys = new TreeSet<>();
        Matcher setting = Pattern.compile("(?m)^# ([a-z0-9-]+): ([^\\n]*?)([ \\t]+#[^\\n]*)?$").matcher(sample);
        while (setting.find()) {
            keys.add(setting.group(1));
            uncommented.append(setting.group(1)).append(": ").append(setting.group(2)).append('\n');
        }
        assertThat(keys).isEqualTo(new TreeSet<>(fields().keySet()));
        Path yaml = Files.createTempFile("mss-sample", ".yaml");
        try {
            Files.writeString(yaml, uncommented);
            ServerConfig loaded = ServerConfig.load(yaml, Map.of()).validate();
            ServerConfig defaults = new ServerConfig();
            for (Map.Entry<String, Field> field : fields().entrySet()) {
                assertThat(field.getValue().get(loaded)).as(field.getKey())
                        .isEqualTo(field.getValue().get(defaults));
            }
        } finally {
            Files.delete(yaml);
        }
    }

    /** Whether setting {@code env} to a value other than the default changes the field. */
    private static boolean changes(Field field, String env) throws Exception {
        Object before = field.get(new ServerConfig());
        String value = field.getType() == boolean.class ? String.valueOf(!(Boolean) before)
                : field.getType() == int.class ? "4321" : "checked-value";
        return !field.get(ServerConfig.load(null, Map.of(env, value))).equals(before);
    }

    private static Map<String, Row> rows() throws Exception {
        Map<String, Row> rows = new LinkedHashMap<>();
        for (String line : Files.readAllLines(ROOT.resolve("docs/configuration.md"))) {
            Matcher row = ROW.matcher(line);
            if (row.matches()) {
                assertThat(rows.put(row.group(1), new Row(row.group(1), row.group(2), row.group(3), row.group(4))))
                        .as("documented twice: " + row.group(1)).isNull();
            }
        }
        return rows;
    }

    /** ServerConfig's settings by their YAML (kebab-case) name. */
    private static Map<String, Field> fields() {
        Map<String, Field> fields = new LinkedHashMap<>();
        for (Field field : ServerConfig.class.getFields()) {
            if (!Modifier.isStatic(field.getModifiers())) {
                fields.put(field.getName().replaceAll("([A-Z])", "-$1").toLowerCase(), field);
            }
        }
        return fields;
    }
}
