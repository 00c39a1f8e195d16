package dev.r2relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.spi.PropertiesComponent;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RelaySettingsTest {

    private static final String ACCOUNT = "0123456789abcdef0123456789ABCDEF";

    /** Computed outside Java: {@code printf %s 'r2-token-value-Q7x!pL9' | sha256sum}. */
    private static final String TOKEN = "r2-token-value-Q7x!pL9";
    private static final String TOKEN_SECRET = "88054fc1ae119ec8064da4a903e62686de1c9e7b932397865b4e25aa0d7156ff";

    /** {@code printf %s 'tok-ünïcödé' | sha256sum}: the token value is hashed as UTF-8. */
    private static final String UNICODE_TOKEN = "tok-ünïcödé";
    private static final String UNICODE_TOKEN_SECRET =
            "bef0e567d3ba586f69a02ca5f541afe82e3e02c39421cc30a2fd6b7cf161fbf8";

    private final Map<String, String> props = new HashMap<>();
    private final Map<String, String> env = new HashMap<>();

    private RelaySettings settings() {
        return RelaySettings.from(k -> Optional.ofNullable(props.get(k)), env::get);
    }

    /** An endpoint, credentials and bucket: the least a non-embedded run needs. */
    private void connected() {
        props.put("r2.endpoint", "https://example.test");
        props.put("r2.access-key", "key-id");
        props.put("r2.secret-key", "s3cr3t-value");
        props.put("r2.bucket", "my-bucket");
    }

    @Nested
    class ApiToken {

        @Test
        void secretIsTheLowercaseHexSha256OfTheTokenValue() {
            assertThat(RelaySettings.secretFromApiToken(TOKEN)).isEqualTo(TOKEN_SECRET);
            assertThat(RelaySettings.secretFromApiToken(UNICODE_TOKEN)).isEqualTo(UNICODE_TOKEN_SECRET);
        }

        @Test
        void settingsDeriveTheSecretFromTheTokenAndUseTheTokenIdAsAccessKey() {
            props.put("r2.endpoint", "https://example.test");
            props.put("r2.access-key", "token-id-123");
            props.put("r2.api-token", TOKEN);
            props.put("r2.bucket", "my-bucket");

            RelaySettings s = settings();

            assertThat(s.accessKey()).isEqualTo("token-id-123");
            assertThat(s.secretKey()).isEqualTo(TOKEN_SECRET);
        }

        @Test
        void tokenAndSecretKeyTogetherAreRefusedNamingBoth() {
            connected();
            props.put("r2.api-token", TOKEN);

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("r2.api-token (R2_API_TOKEN)")
                    .hasMessageContaining("r2.secret-key")
                    .hasMessageContaining("R2_SECRET_KEY")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain(TOKEN, "s3cr3t-value"));
        }

        @Test
        void tokenWinsOverAnAmbientAwsSecret() {
            connected();
            props.remove("r2.secret-key");
            props.put("r2.api-token", TOKEN);
            env.put("AWS_SECRET_ACCESS_KEY", "ambient-secret");

            assertThat(settings().secretKey()).isEqualTo(TOKEN_SECRET);
        }
    }

    @Nested
    class Endpoint {

        @ParameterizedTest
        @CsvSource(nullValues = "none", value = {
            "none,    https://0123456789abcdef0123456789ABCDEF.r2.cloudflarestorage.com",
            "eu,      https://0123456789abcdef0123456789ABCDEF.eu.r2.cloudflarestorage.com",
            "fedramp, https://0123456789abcdef0123456789ABCDEF.fedramp.r2.cloudflarestorage.com",
            "us,      https://0123456789abcdef0123456789ABCDEF.us.r2.cloudflarestorage.com",
            "EU,      https://0123456789abcdef0123456789ABCDEF.eu.r2.cloudflarestorage.com",
            "' ',     https://0123456789abcdef0123456789ABCDEF.r2.cloudflarestorage.com"})
        void isBuiltFromTheAccountIdAndJurisdiction(String jurisdiction, String expected) {
            connected();
            props.remove("r2.endpoint");
            props.put("r2.account-id", ACCOUNT);
            if (jurisdiction != null) {
                props.put("r2.jurisdiction", jurisdiction);
            }

            RelaySettings s = settings();

            assertThat(s.endpoint()).contains(URI.create(expected));
            assertThat(s.endpointSource()).isEqualTo("r2.account-id");
            assertThat(s.embedded()).isFalse();
        }

        @Test
        void unknownJurisdictionIsRefusedNamingTheSetting() {
            connected();
            props.remove("r2.endpoint");
            props.put("r2.account-id", ACCOUNT);
            props.put("r2.jurisdiction", "apac");

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("r2.jurisdiction (R2_JURISDICTION)")
                    .hasMessageContaining("apac");
        }

        @ParameterizedTest
        @ValueSource(strings = {"abc", "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0"})
        void malformedAccountIdIsRefusedNamingTheSetting(String account) {
            connected();
            props.remove("r2.endpoint");
            props.put("r2.account-id", account);

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("r2.account-id (R2_ACCOUNT_ID)");
        }

        @Test
        void explicitEndpointWinsOverAccountIdAndAwsEndpointUrl() {
            connected();
            props.put("r2.account-id", ACCOUNT);
            env.put("AWS_ENDPOINT_URL", "https://aws.example.test");

            RelaySettings s = settings();

            assertThat(s.endpoint()).contains(URI.create("https://example.test"));
            assertThat(s.endpointSource()).isEqualTo("r2.endpoint");
        }

        @Test
        void accountIdWinsOverAwsEndpointUrl() {
            connected();
            props.remove("r2.endpoint");
            props.put("r2.account-id", ACCOUNT);
            env.put("AWS_ENDPOINT_URL", "https://aws.example.test");

            assertThat(settings().endpointSource()).isEqualTo("r2.account-id");
        }

        @Test
        void awsEndpointUrlIsTheFallback() {
            connected();
            props.remove("r2.endpoint");
            env.put("AWS_ENDPOINT_URL", " https://acct.r2.cloudflarestorage.com ");

            RelaySettings s = settings();

            assertThat(s.endpoint()).contains(URI.create("https://acct.r2.cloudflarestorage.com"));
            assertThat(s.endpointSource()).isEqualTo("AWS_ENDPOINT_URL");
        }

        @Test
        void withoutAnyEndpointTheEmbeddedStandInServesADefaultBucket() {
            RelaySettings s = settings();

            assertThat(s.embedded()).isTrue();
            assertThat(s.endpoint()).isEmpty();
            assertThat(s.endpointSource()).isEqualTo("embedded");
            assertThat(s.bucket()).isEqualTo("r2-relay-local");
        }

        @ParameterizedTest
        @ValueSource(strings = {"not a url", "localhost:9000", "ftp://example.test", "https://", "example.test",
            "http//example.test"})
        void malformedEndpointIsRefusedNamingTheSettingAndVariable(String value) {
            connected();
            props.put("r2.endpoint", value);

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("r2.endpoint (R2_ENDPOINT)");
        }

        @Test
        void malformedAwsEndpointUrlIsRefusedNamingTheVariable() {
            connected();
            props.remove("r2.endpoint");
            env.put("AWS_ENDPOINT_URL", "localhost:9000");

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("AWS_ENDPOINT_URL");
        }

        @ParameterizedTest
        @ValueSource(strings = {"https://key-id:PlainSecret99@example.test", "ftp://key-id:PlainSecret99@example.test",
            "https://key-id:Plain Secret99@example.test", "key-id:PlainSecret99@example.test"})
        void endpointCarryingCredentialsIsRefusedWithoutEchoingThem(String value) {
            connected();
            props.put("r2.endpoint", value);

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("r2.endpoint (R2_ENDPOINT)")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("PlainSecret99", "Plain Secret99"));
        }
    }

    @Nested
    class AwsFallbacks {

        @Test
        void regionDefaultsToAuto() {
            connected();

            assertThat(settings().region()).isEqualTo("auto");
        }

        @Test
        void awsRegionIsHonouredWhenR2RegionIsUnset() {
            connected();
            env.put("AWS_REGION", "us-east-1");

            assertThat(settings().region()).isEqualTo("us-east-1");
        }

        @Test
        void r2RegionWinsOverAwsRegion() {
            connected();
            props.put("r2.region", "auto");
            env.put("AWS_REGION", "us-east-1");

            assertThat(settings().region()).isEqualTo("auto");
        }

        @Test
        void awsCredentialsAreTheFallback() {
            props.put("r2.bucket", "my-bucket");
            env.put("AWS_ENDPOINT_URL", "https://acct.r2.cloudflarestorage.com");
            env.put("AWS_ACCESS_KEY_ID", "aws-key-id");
            env.put("AWS_SECRET_ACCESS_KEY", "aws-secret");
            env.put("AWS_SESSION_TOKEN", "aws-session");

            RelaySettings s = settings();

            assertThat(s.accessKey()).isEqualTo("aws-key-id");
            assertThat(s.secretKey()).isEqualTo("aws-secret");
            assertThat(s.sessionToken()).isEqualTo("aws-session");
        }

        @Test
        void r2CredentialsWinOverAwsVariables() {
            connected();
            props.put("r2.session-token", "r2-session");
            env.put("AWS_ACCESS_KEY_ID", "aws-key-id");
            env.put("AWS_SECRET_ACCESS_KEY", "aws-secret");
            env.put("AWS_SESSION_TOKEN", "aws-session");

            RelaySettings s = settings();

            assertThat(s.accessKey()).isEqualTo("key-id");
            assertThat(s.secretKey()).isEqualTo("s3cr3t-value");
            assertThat(s.sessionToken()).isEqualTo("r2-session");
        }

        @Test
        void awsSessionTokenIsIgnoredBesideAnR2AccessKey() {
            connected();
            env.put("AWS_SESSION_TOKEN", "stale-aws-session");

            assertThat(settings().sessionToken()).isNull();
        }

        @Test
        void awsSessionTokenIsIgnoredBesideAnR2AccessKeyEvenWithTheAwsSecret() {
            props.put("r2.endpoint", "https://example.test");
            props.put("r2.bucket", "my-bucket");
            props.put("r2.access-key", "key-id");
            env.put("AWS_SECRET_ACCESS_KEY", "aws-secret");
            env.put("AWS_SESSION_TOKEN", "stale-aws-session");

            assertThat(settings().sessionToken()).isNull();
        }

        @Test
        void awsSessionTokenIsIgnoredBesideAnApiToken() {
            props.put("r2.endpoint", "https://example.test");
            props.put("r2.bucket", "my-bucket");
            props.put("r2.access-key", "token-id-123");
            props.put("r2.api-token", "token-value");
            env.put("AWS_SESSION_TOKEN", "stale-aws-session");

            assertThat(settings().sessionToken()).isNull();
        }

        @Test
        void r2SessionTokenIsTakenWhateverTheAccessKeyCameFrom() {
            props.put("r2.endpoint", "https://example.test");
            props.put("r2.bucket", "my-bucket");
            props.put("r2.session-token", "r2-session");
            env.put("AWS_ACCESS_KEY_ID", "aws-key-id");
            env.put("AWS_SECRET_ACCESS_KEY", "aws-secret");
            env.put("AWS_SESSION_TOKEN", "aws-session");

            assertThat(settings().sessionToken()).isEqualTo("r2-session");
        }

        @Test
        void blankValuesCountAsUnset() {
            connected();
            props.put("r2.region", "  ");
            env.put("AWS_REGION", "eu-west-1");

            assertThat(settings().region()).isEqualTo("eu-west-1");
        }

        /**
         * The application.properties shipped at the repository root, read as the application reads
         * it, must leave room for the AWS variables the help and README promise to honour.
         */
        @Test
        void shippedApplicationPropertiesDoNotHideTheAwsVariables() throws Exception {
            Path shipped = Path.of("application.properties").toAbsolutePath();
            assertThat(shipped).exists();
            try (DefaultCamelContext camel = new DefaultCamelContext(false)) {
                PropertiesComponent pc = camel.getPropertiesComponent();
                pc.setLocation("file:" + shipped + ";optional=false");
                env.put("AWS_ENDPOINT_URL", "https://acct.r2.cloudflarestorage.com");
                env.put("AWS_REGION", "eu-central-1");
                env.put("AWS_ACCESS_KEY_ID", "aws-key-id");
                env.put("AWS_SECRET_ACCESS_KEY", "aws-secret");

                RelaySettings s = RelaySettings.from(
                        k -> k.equals("r2.bucket") ? Optional.of("my-bucket") : pc.resolveProperty(k), env::get);

                assertThat(s.endpointSource()).isEqualTo("AWS_ENDPOINT_URL");
                assertThat(s.region()).isEqualTo("eu-central-1");
                assertThat(s.accessKey()).isEqualTo("aws-key-id");
                assertThat(s.secretKey()).isEqualTo("aws-secret");
            }
        }
    }

    @Nested
    class Errors {

        @ParameterizedTest
        @ValueSource(strings = {"-5", "0"})
        void pollIntervalBelowOneIsRefusedNamingThePropertyAndVariable(String value) {
            connected();
            props.put("relay.poll-interval", value);

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("relay.poll-interval (RELAY_POLL_INTERVAL)")
                    .hasMessageContaining("above 0")
                    .hasMessageContaining("'" + value + "'");
        }

        @Test
        void nonNumericPollIntervalIsRefusedNamingThePropertyAndVariable() {
            connected();
            props.put("relay.poll-interval", "5s");

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("relay.poll-interval (RELAY_POLL_INTERVAL)")
                    .hasMessageContaining("'5s'");
        }

        @ParameterizedTest
        @ValueSource(strings = {"jdbc:mysql://db:3306/relay", "jdbc:h2:tcp://db/relay"})
        void aJdbcUrlOfAnotherDatabaseIsRefusedNamingTheSetting(String url) {
            props.put("relay.state", url);

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("relay.state (RELAY_STATE)")
                    .hasMessageContaining("must name PostgreSQL");
        }

        @ParameterizedTest
        @ValueSource(strings = {"jdbc:postgresql://db:5432/relay?user=relay&password=hunter22",
                "jdbc:postgresql://relay:hunter22@db:5432/relay"})
        void credentialsInTheJdbcUrlAreRefusedWithoutEchoingThem(String url) {
            props.put("relay.state", url);

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("relay.state.username (RELAY_STATE_USERNAME)")
                    .hasMessageNotContaining("hunter22");
        }

        @Test
        void aPostgresUrlGivesASharedStateAndKeepsLocalFilesInTheirOwnFolder() {
            props.put("relay.state", "jdbc:postgresql://db.example:5433/relay?currentSchema=r2");
            props.put("relay.state.username", "relay");
            props.put("relay.state.password", "pw");
            props.put("relay.local-state", "/var/lib/r2-relay");

            RelaySettings s = settings();
            assertThat(s.sharedState()).isTrue();
            assertThat(s.localState()).isEqualTo(java.nio.file.Path.of("/var/lib/r2-relay"));
            assertThat(s.toString()).doesNotContain("pw");
            assertThat(dev.r2relay.state.StateStores.describePostgres(s.state()))
                    .isEqualTo("PostgreSQL db.example:5433/relay (schema r2)");
        }

        @Test
        void databaseCredentialsWithAFolderStateAreRefused() {
            props.put("relay.state", "data/");
            props.put("relay.state.username", "relay");

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("apply to a PostgreSQL store only");
        }

        @Test
        void aClaimLeaseUnderOneSecondIsRefused() {
            props.put("relay.claim-lease", "500");

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("relay.claim-lease (RELAY_CLAIM_LEASE)");
        }

        @Test
        void negativeEmbeddedPortIsRefusedButZeroMeansAnyPort() {
            props.put("relay.embedded.port", "0");
            assertThat(settings().embeddedPort()).isZero();

            props.put("relay.embedded.port", "-1");
            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("relay.embedded.port (RELAY_EMBEDDED_PORT)")
                    .hasMessageContaining("0 or above");
        }

        @ParameterizedTest
        @ValueSource(strings = {"My_Bucket", "ab", "UPPER", "-leading", "trailing-", "has space"})
        void badBucketNameIsRefusedNamingThePropertyAndVariable(String bucket) {
            connected();
            props.put("r2.bucket", bucket);

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("r2.bucket (R2_BUCKET)")
                    .hasMessageContaining(bucket);
        }

        @Test
        void missingAccessKeyNamesEveryWayToSetIt() {
            connected();
            props.remove("r2.access-key");

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("r2.access-key (R2_ACCESS_KEY)")
                    .hasMessageContaining("AWS_ACCESS_KEY_ID");
        }

        @Test
        void missingSecretNamesEveryWayToSetIt() {
            connected();
            props.remove("r2.secret-key");

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("r2.api-token (R2_API_TOKEN)")
                    .hasMessageContaining("r2.secret-key (R2_SECRET_KEY)")
                    .hasMessageContaining("AWS_SECRET_ACCESS_KEY");
        }

        @Test
        void missingBucketWithARealEndpointNamesThePropertyAndVariable() {
            connected();
            props.remove("r2.bucket");

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("r2.bucket (R2_BUCKET)");
        }

        @Test
        void unknownAfterDeliveryModeListsTheAllowedValues() {
            connected();
            props.put("relay.after-delivery", "archive");

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("relay.after-delivery (RELAY_AFTER_DELIVERY)")
                    .hasMessageContaining("keep, delete, move");
        }

        @ParameterizedTest
        @CsvSource({"relay.target, HTTP, http", "relay.target, ' Jms ', jms",
                "relay.trigger.target, File, file", "relay.trigger.target, Archive-2, archive-2"})
        void targetsAreReadInLowercaseWhateverTheCaseWritten(String key, String value, String expected) {
            props.put(key, value);

            RelaySettings s = settings();
            assertThat(key.equals("relay.target") ? s.target() : s.triggerTarget()).isEqualTo(expected);
        }

        @Test
        void targetsDefaultToFile() {
            assertThat(settings().target()).isEqualTo("file");
            assertThat(settings().triggerTarget()).isEqualTo("file");
        }

        @ParameterizedTest
        @ValueSource(strings = {"relay.target", "relay.trigger.target"})
        void aTargetThatCannotNameARouteIsRefusedNamingTheSettingAndTheAcceptedValues(String key) {
            props.put(key, "file?x=1");

            assertThatThrownBy(RelaySettingsTest.this::settings)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining(key + " (" + RelaySettings.envName(key) + ")")
                    .hasMessageContaining("file, jms, http")
                    .hasMessageContaining("'file?x=1'");
        }
    }

    @Nested
    class ToString {

        @Test
        void namesEndpointBucketAndRegionButNoCredential() {
            connected();
            props.put("r2.prefix", "incoming/");
            props.put("r2.session-token", "session-tok-777");

            String text = settings().toString();

            assertThat(text).contains("https://example.test", "my-bucket", "incoming/", "auto")
                    .doesNotContain("s3cr3t-value", "session-tok-777", "key-id");
        }

        @Test
        void showsNeitherTheApiTokenNorItsDerivedSecret() {
            connected();
            props.remove("r2.secret-key");
            props.put("r2.api-token", TOKEN);

            String text = settings().toString();

            assertThat(text).doesNotContain(TOKEN, TOKEN_SECRET, "key-id");
        }

        @Test
        void showsNoCredentialOfAwsVariables() {
            props.put("r2.bucket", "my-bucket");
            env.put("AWS_ENDPOINT_URL", "https://acct.r2.cloudflarestorage.com");
            env.put("AWS_ACCESS_KEY_ID", "aws-key-id");
            env.put("AWS_SECRET_ACCESS_KEY", "aws-secret");

            assertThat(settings().toString()).doesNotContain("aws-secret", "aws-key-id");
        }
    }

    @Test
    void envNameIsTheVariableCamelMapsOntoTheProperty() {
        assertThat(RelaySettings.envName("r2.api-token")).isEqualTo("R2_API_TOKEN");
        assertThat(RelaySettings.envName("relay.embedded.port")).isEqualTo("RELAY_EMBEDDED_PORT");
    }

    @Test
    void relativeInboxIsResolvedAgainstTheWorkingDirectory() {
        props.put("relay.inbox", "in/box/../x");

        assertThat(settings().inbox()).isEqualTo(Path.of("in/x").toAbsolutePath());
        assertThat(Files.isDirectory(settings().inbox())).isFalse();
    }
}
