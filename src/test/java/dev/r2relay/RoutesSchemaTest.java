package dev.r2relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every route file validates against the YAML DSL schema of the Camel version on the class path.
 * One kind of message is not an error: the schema types options such as a route's autoStartup as
 * boolean or number, while Camel resolves a property placeholder ({@code "{{relay.poll.enabled:true}}"})
 * before converting it, for any option. A string that is wholly one placeholder is therefore
 * accepted where the schema wants a boolean, integer or number, and nothing else is.
 */
class RoutesSchemaTest {

    /** Shipped inside camel-yaml-dsl's jar, so it always matches the Camel the application runs. */
    private static final String SCHEMA = "schema/camelYamlDsl.json";
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{[^{}]+}}");
    private static final Set<String> SCALARS = Set.of("boolean", "integer", "number");

    private static JsonSchema schema;

    @BeforeAll
    static void loadSchema() throws IOException {
        try (InputStream in = RoutesSchemaTest.class.getClassLoader().getResourceAsStream(SCHEMA)) {
            assertThat(in).as(SCHEMA + " on the class path").isNotNull();
            schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(in);
        }
    }

    static List<Path> routeFiles() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("routes"))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".camel.yaml")).sorted().toList();
        }
    }

    @Test
    void thereAreRouteFilesToCheck() throws IOException {
        assertThat(routeFiles()).extracting(p -> p.getFileName().toString())
                .contains("poll-bucket.camel.yaml", "deliver-file.camel.yaml", "error-handling.camel.yaml");
    }

    @ParameterizedTest
    @MethodSource("routeFiles")
    void routeFileValidatesAgainstTheCamelYamlDslSchema(Path file) throws IOException {
        JsonNode routes = YAML.readTree(file.toFile());

        assertThat(errors(routes)).as(file.toString()).isEmpty();
    }

    @Test
    void unknownKeyFailsValidation() throws IOException {
        JsonNode wrong = YAML.readTree("""
                - route:
                    id: wrong
                    from:
                      uri: "timer:wrong"
                      steps:
                        - to:
                            id: misspelled
                            uir: "log:wrong"
                """);

        assertThat(errors(wrong)).isNotEmpty().anySatisfy(m -> assertThat(m.getMessage()).contains("uir"));
    }

    @Test
    void unknownStepFailsValidation() throws IOException {
        JsonNode wrong = YAML.readTree("""
                - route:
                    id: wrong
                    from:
                      uri: "timer:wrong"
                      steps:
                        - too:
                            uri: "log:wrong"
                """);

        assertThat(errors(wrong)).isNotEmpty();
    }

    @Test
    void aCorrectRouteOfTheSameShapePasses() throws IOException {
        JsonNode right = YAML.readTree("""
                - route:
                    id: right
                    from:
                      uri: "timer:right"
                      steps:
                        - to:
                            id: spelled-right
                            uri: "log:right"
                """);

        assertThat(schema.validate(right)).isEmpty();
    }

    @Test
    void placeholderIsAcceptedForABooleanButAnyOtherStringIsNot() throws IOException {
        String route = """
                - route:
                    id: switchable
                    autoStartup: %s
                    from:
                      uri: "timer:switchable"
                      steps:
                        - to:
                            uri: "log:switchable"
                """;

        assertThat(schema.validate(YAML.readTree(route.formatted("\"{{relay.poll.enabled:true}}\""))))
                .as("the raw schema").singleElement()
                .satisfies(m -> assertThat(m.getMessage()).contains("autoStartup", "boolean expected"));
        assertThat(errors(YAML.readTree(route.formatted("\"{{relay.poll.enabled:true}}\"")))).isEmpty();
        assertThat(errors(YAML.readTree(route.formatted("false")))).isEmpty();
        assertThat(errors(YAML.readTree(route.formatted("\"yes\"")))).isNotEmpty();
        assertThat(errors(YAML.readTree(route.formatted("\"{{a}} and {{b}}\"")))).isNotEmpty();
    }

    @Test
    void placeholderIsNotAcceptedWhereTheSchemaWantsAStructure() throws IOException {
        JsonNode wrong = YAML.readTree("""
                - route:
                    id: wrong
                    from: "{{relay.from}}"
                """);

        assertThat(errors(wrong)).isNotEmpty();
    }

    /** The schema's messages, less a placeholder standing for a boolean or a number. */
    private static List<ValidationMessage> errors(JsonNode routes) {
        return schema.validate(routes).stream().filter(m -> !placeholderForAScalar(m)).toList();
    }

    private static boolean placeholderForAScalar(ValidationMessage m) {
        JsonNode value = m.getInstanceNode();
        Object[] args = m.getArguments();
        return "type".equals(m.getType()) && value != null && value.isTextual()
                && PLACEHOLDER.matcher(value.asText()).matches()
                && args != null && args.length == 2 && SCALARS.contains(String.valueOf(args[1]));
    }
}
