package dev.r2relay.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.support.FaultProxy;
import dev.r2relay.support.FaultProxy.Fault;
import dev.r2relay.support.LogCapture;
import dev.r2relay.support.RamTempDirs;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.S3Clients;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TmpfsMount;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The catalogue of bad input: each case gets one clear message naming the culprit (the setting,
 * file, host or key to fix), never a secret, and loses no data: the waiting object stays in the
 * bucket, nothing is recorded, no file or temporary file is left, and it is delivered once the
 * cause is fixed where the relay keeps running. Start-up failures are shown as {@code run} prints
 * them ({@link R2RelayMain#report}), with the exit code.
 *
 * <p>Cases covered by other tests (each asserts the message and that nothing is delivered):
 * <ul>
 * <li>a missing bucket: {@code PollerContract.unknownBucketFailsStartNamingTheBucket} (S3Proxy, moto),
 *     {@code FailedStartTest}, {@code FetchCommandTest.missingBucketExitsWith3NamingTheBucket};</li>
 * <li>an unknown option in a YAML route, a YAML syntax error (file and line): {@code BrokenRoutesTest};</li>
 * <li>invalid values (negative interval, malformed URL, bad numbers and names):
 *     {@code RelaySettingsTest}, {@code R2RelayMainTest.invalidSettingsStopRunWith2NamingTheSettingWithoutAStackTrace},
 *     {@code HttpSettingsTest}, {@code JmsSettingsTest};</li>
 * <li>a missing required setting, one by one: {@code RelaySettingsTest} (access key, secret, bucket);</li>
 * <li>an unreachable endpoint: {@code PollerContract.unreachableEndpointFailsStartWithCannotConnect};</li>
 * <li>a corrupt trigger message: {@code TriggerParserTest}, {@code TriggeredFetchTest}, {@code HttpTriggerTest}
 *     (400 with the reason), {@code JmsTriggerTest} (to the dead-letter queue with its reason);</li>
 * <li>secrets in output: {@code SecretsNeverLeakTest}.</li>
 * </ul>
 */
class BadInputCatalogueTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String KEY = "incoming/waiting.csv";
    private static final byte[] BODY = "id,amount\n1,10\n".getBytes(StandardCharsets.UTF_8);
    private static final String WRONG_SECRET = "Wr0ng-SECRET-never-print-9931";
    private static S3ProxyServer server;
    private static S3Client s3;

    @TempDir(factory = RamTempDirs.class)
    Path work;
    private String bucket;
    private FaultProxy proxy;

    @BeforeAll
    static void startServer() {
        server = new S3ProxyServer();
        s3 = S3Clients.of(server);
    }

    @AfterAll
    static void stopServer() {
        s3.close();
        server.close();
    }

    @BeforeEach
    void seed() throws IOException {
        bucket = "bad-input-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
        server.createBucket(bucket);
        s3.putObject(b -> b.bucket(bucket).key(KEY), RequestBody.fromBytes(BODY));
        proxy = new FaultProxy(server.endpoint());
    }

    @AfterEach
    void stopProxy() {
        proxy.close();
    }

    private Map<String, String> settings() {
        return RelayApp.settingsFor(server, bucket, work);
    }

    /** Settings that reach the server through the fault proxy. */
    private Map<String, String> throughProxy() {
        Map<String, String> p = settings();
        p.put("r2.endpoint", proxy.endpoint().toString());
        return p;
    }

    // --- credentials and access -----------------------------------------------------------------

    @Test
    void aWrongAccessKeyStopsTheStartNamingTheAccessKeySetting() {
        Map<String, String> p = settings();
        p.put("r2.access-key", "AKIDWRONGKEY00000001");

        Printed printed = startFailure(p);

        assertThat(printed.line()).contains("does not know the access key (r2.access-key, AWS_ACCESS_KEY_ID)");
        assertNoDataLost();
    }

    @Test
    void aWrongSecretStopsTheStartNamingTheSecretSettings() {
        Map<String, String> p = settings();
        p.put("r2.secret-key", WRONG_SECRET);

        Printed printed = startFailure(p);

        assertThat(printed.line()).contains("rejected the request signature")
                .contains("(r2.secret-key, r2.api-token or AWS_SECRET_ACCESS_KEY)");
        assertNoDataLost();
    }

    @Test
    void aTokenWithoutAccessToTheBucketStopsTheStartWith403() {
        proxy.injectAlways(FaultProxy.anyRequest(), Fault.accessDenied());

        Printed printed = startFailure(throughProxy());

        assertThat(printed.line()).contains("denied access to bucket '" + bucket + "' (403 AccessDenied)")
                .contains("lack permission");
        assertNoDataLost();
    }

    @Test
    void aServerFaultWithoutAnS3ErrorIsNamedAsOneAndNotAsAnEmptyCode() {
        proxy.injectAlways(FaultProxy.listing(), Fault.bare(500));
        Map<String, String> p = throughProxy();
        p.put("r2.max-attempts", "2");

        Printed printed = startFailure(p);

        assertThat(printed.line()).contains("answered 500 on bucket '" + bucket + "', with no S3 error in the"
                + " answer (a server fault: retried r2.max-attempts times)");
        assertNoDataLost();
    }

    @Test
    void anObjectTheTokenMayNotReadIsReportedAndDeliveredOnceAccessIsGranted() throws Exception {
        proxy.injectAlways(FaultProxy.getOf(KEY), Fault.accessDenied());
        try (LogCapture logs = LogCapture.open(); RelayApp app = RelayApp.start(throughProxy())) {
            await().atMost(WAIT).until(() -> !logs.matching("WARN", "not delivered", "key=" + KEY).isEmpty());
            assertThat(logs.matching("WARN", "not delivered", "key=" + KEY).get(0))
                    .contains("denied access to '" + KEY + "' in bucket '" + bucket + "' (403 AccessDenied)");
            assertThat(app.ledger().recordedEtag(bucket, KEY)).isNull();
            assertThat(inboxFiles()).isEmpty();

            proxy.clearFaults();
            await().atMost(WAIT).until(() -> app.ledger().recordedEtag(bucket, KEY) != null);
        }
        assertThat(work.resolve("inbox").resolve(KEY)).hasBinaryContent(BODY);
    }

    @Test
    void aWrongRegionStopsTheStartNamingTheRegionSetting() {
        // as AWS answers a request signed for another region (R2 takes auto, us-east-1 and empty)
        proxy.injectAlways(r -> !List.of("us-east-1", "auto").contains(r.signedRegion()),
                Fault.error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the region"
                        + " 'eu-west-3' is wrong; expecting 'us-east-1'"));
        Map<String, String> p = throughProxy();
        p.put("r2.region", "eu-west-3");

        Printed printed = startFailure(p);

        assertThat(printed.line()).contains("rejected the region (r2.region, AWS_REGION)")
                .contains("the region 'eu-west-3' is wrong; expecting 'us-east-1'");
        assertNoDataLost();
    }

    // --- the endpoint -------------------------------------------------------------------------

    @Test
    void anEndpointHostThatDoesNotResolveStopsTheStartNamingTheEndpointSettings() {
        Map<String, String> p = settings();
        p.put("r2.endpoint", "http://r2-relay-no-such-host.invalid:9000");

        Printed printed = startFailure(p);

        assertThat(printed.line())
                .contains("cannot resolve the endpoint host http://r2-relay-no-such-host.invalid:9000")
                .contains("(r2.endpoint, r2.account-id or AWS_ENDPOINT_URL)");
        assertNoDataLost();
    }

    @Test
    void anEndpointWithAnUntrustedCertificateStopsTheStartNamingTheTlsFailure() throws Exception {
        try (SelfSignedTlsServer tls = new SelfSignedTlsServer(work.resolve("tls"))) {
            Map<String, String> p = settings();
            p.put("r2.endpoint", "https://127.0.0.1:" + tls.port());

            Printed printed = startFailure(p);

            assertThat(printed.line()).contains("TLS handshake with https://127.0.0.1:" + tls.port() + " failed")
                    .contains("certificate").contains("javax.net.ssl.trustStore").contains("r2.endpoint");
        }
        assertNoDataLost();
    }

    // --- settings -----------------------------------------------------------------------------

    @Test
    void aMissingRequiredSettingStopsTheStartWithExitCode2NamingIt() {
        Map<String, String> p = settings();
        p.remove("r2.bucket");

        Printed printed = startFailure(p);

        assertThat(printed.exitCode()).isEqualTo(2);
        assertThat(printed.line()).isEqualTo("r2-relay: No bucket: set r2.bucket (R2_BUCKET)");
        assertNoDataLost();
    }

    // --- the state store ----------------------------------------------------------------------

    @Test
    void aStateFolderThatCannotBeCreatedStopsTheStartNamingRelayState() throws IOException {
        Files.writeString(work.resolve("state"), "a file where the state folder should be");

        Printed printed = startFailure(settings());

        assertThat(printed.exitCode()).isEqualTo(2);
        assertThat(printed.line()).isEqualTo("r2-relay: relay.state (RELAY_STATE): cannot create the state folder "
                + work.resolve("state") + ": a file has that name");
        assertNoDataLost();
    }

    @Test
    void aCorruptLedgerStopsTheStartNamingTheLedgerFile() throws IOException {
        Files.createDirectories(work.resolve("state"));
        byte[] garbage = new byte[64 * 1024];
        new Random(1).nextBytes(garbage);
        Files.write(work.resolve("state/ledger.mv.db"), garbage);

        Printed printed = startFailure(settings());

        assertThat(printed.exitCode()).isEqualTo(2);
        assertThat(printed.line()).contains("relay.state (RELAY_STATE): cannot open the ledger "
                + work.resolve("state/ledger.mv.db"));
        assertThat(s3.headObject(b -> b.bucket(bucket).key(KEY)).contentLength()).isEqualTo(BODY.length);
        assertThat(inboxFiles()).isEmpty();
    }

    @Test
    void aLedgerHeldByAnotherProcessStopsTheStartAndTheRunningRelayGoesOn() throws Exception {
        RelayProcess.copyShippedRoutes(work.resolve("app/routes"));
        Map<String, String> env = Map.of("R2_ENDPOINT", server.endpoint().toString(),
                "R2_ACCESS_KEY", S3ProxyServer.ACCESS_KEY, "R2_SECRET_KEY", S3ProxyServer.SECRET_KEY,
                "R2_BUCKET", bucket, "RELAY_INBOX", work.resolve("inbox").toString(),
                "RELAY_STATE", work.resolve("state").toString(), "RELAY_POLL_INTERVAL", "200",
                "CAMEL_MAIN_DURATIONMAXSECONDS", "100");
        try (RelayProcess holder = RelayProcess.in(work.resolve("app")).env(env).start("run")) {
            await().atMost(WAIT).until(() -> {
                assertThat(holder.isAlive()).as("the first relay runs").isTrue();
                return Files.exists(work.resolve("inbox").resolve(KEY));
            });

            Printed printed = startFailure(settings());

            assertThat(printed.exitCode()).isEqualTo(2);
            assertThat(printed.line()).contains("relay.state (RELAY_STATE): the ledger "
                    + work.resolve("state/ledger.mv.db") + " is held by another process");
            // the first relay goes on delivering
            s3.putObject(b -> b.bucket(bucket).key("incoming/later.csv"), RequestBody.fromBytes(BODY));
            await().atMost(WAIT).until(() -> Files.exists(work.resolve("inbox/incoming/later.csv")));
            assertThat(holder.stop(WAIT).exitCode()).isZero();
        }
    }

    // --- the inbox ----------------------------------------------------------------------------

    @Test
    void anInboxThatIsNotWritableIsNamedAndItsObjectsWaitUntilItIs() throws Exception {
        Path inbox = work.resolve("inbox");
        try (TmpfsMount readOnly = TmpfsMount.on(inbox, "ro,size=1m");
             LogCapture logs = LogCapture.open(); RelayApp app = RelayApp.start(settings())) {
            assertThat(logs.matching("WARN", "relay.inbox (RELAY_INBOX): cannot write to " + inbox
                    + ": Read-only file system; every delivery to it fails")).hasSize(1);
            await().atMost(WAIT).until(() -> !logs.matching("WARN", "not delivered", "key=" + KEY).isEmpty());
            assertThat(logs.matching("WARN", "not delivered", "key=" + KEY).get(0))
                    .contains("cannot write to the inbox " + inbox
                            + " (relay.inbox, RELAY_INBOX): Read-only file system");
            assertThat(app.ledger().recordedEtag(bucket, KEY)).isNull();

            readOnly.remount("rw");
            await().atMost(WAIT).until(() -> app.ledger().recordedEtag(bucket, KEY) != null);
            assertThat(inbox.resolve(KEY)).hasBinaryContent(BODY);
        }
    }

    @Test
    void aFullDiskIsNamedTheObjectStaysUnrecordedAndArrivesOnceThereIsSpace() throws Exception {
        Path inbox = work.resolve("inbox");
        byte[] large = new byte[2 * 1024 * 1024];
        new Random(2).nextBytes(large);
        s3.putObject(b -> b.bucket(bucket).key("large.bin"), RequestBody.fromBytes(large));
        try (TmpfsMount small = TmpfsMount.on(inbox, "size=1m");
             LogCapture logs = LogCapture.open(); RelayApp app = RelayApp.start(settings())) {
            await().atMost(WAIT).until(() -> !logs.matching("WARN", "not delivered", "key=large.bin").isEmpty());
            assertThat(logs.matching("WARN", "not delivered", "key=large.bin").get(0))
                    .contains("cannot write to the inbox " + inbox + " (relay.inbox, RELAY_INBOX): No space left on"
                            + " device");
            assertThat(app.ledger().recordedEtag(bucket, "large.bin")).isNull();
            // no partial file stays behind; the next poll's attempt (or the small object) may be
            // writing one at this moment, so wait for the folder to hold none rather than look once
            await("no temporary file left on the full disk").atMost(WAIT).until(() -> temporaryFiles().isEmpty());
            // the small object still fits, and goes through
            await().atMost(WAIT).until(() -> app.ledger().recordedEtag(bucket, KEY) != null);

            small.remount("size=8m");
            await().atMost(WAIT).until(() -> app.ledger().recordedEtag(bucket, "large.bin") != null);
            assertThat(inbox.resolve("large.bin")).hasBinaryContent(large);
            assertThat(temporaryFiles()).isEmpty();
        }
    }

    // --- helpers ------------------------------------------------------------------------------

    /** What {@code run} prints for a failed start, and its exit code. */
    record Printed(int exitCode, String line) {
    }

    /** Starts the application expecting it to refuse; returns what {@code run} prints for it. */
    private Printed startFailure(Map<String, String> settings) {
        Throwable thrown = catchThrowable(() -> RelayApp.start(settings).close());
        assertThat(thrown).as("the start should fail").isNotNull();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = R2RelayMain.report(thrown, new PrintStream(err, true, StandardCharsets.UTF_8));
        String line = err.toString(StandardCharsets.UTF_8).strip();
        assertThat(line).as("one line").doesNotContain("\n").startsWith("r2-relay: ");
        assertThat(code).as("exit code of: %s", line).isNotZero();
        for (String secret : List.of(S3ProxyServer.SECRET_KEY, WRONG_SECRET)) {
            assertThat(line).doesNotContain(secret).doesNotContain(secret.substring(0, 10));
        }
        return new Printed(code, line);
    }

    /** The object still waits in the bucket, the ledger holds nothing, the inbox holds nothing. */
    private void assertNoDataLost() {
        assertThat(s3.headObject(b -> b.bucket(bucket).key(KEY)).contentLength()).isEqualTo(BODY.length);
        if (Files.exists(work.resolve("state/ledger.mv.db"))) {
            try (DeliveryLedger ledger = DeliveryLedger.open(work.resolve("state").toString())) {
                assertThat(ledger.count()).as("objects recorded").isZero();
            }
        }
        assertThat(inboxFiles()).as("files in the inbox").isEmpty();
    }

    private List<Path> inboxFiles() {
        Path inbox = work.resolve("inbox");
        if (!Files.isDirectory(inbox)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(inbox)) {
            return files.filter(Files::isRegularFile).toList();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private List<Path> temporaryFiles() {
        return inboxFiles().stream().filter(p -> p.getFileName().toString().contains(".r2relay-")).toList();
    }

    /** An HTTPS server on loopback whose certificate nobody trusts (self-signed, made with keytool). */
    private static final class SelfSignedTlsServer implements AutoCloseable {
        private final SSLServerSocket socket;
        private final Thread thread;

        SelfSignedTlsServer(Path folder) throws Exception {
            Files.createDirectories(folder);
            Path store = folder.resolve("server.p12");
            Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                    "-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                    "-dname", "CN=127.0.0.1", "-storetype", "PKCS12", "-keystore", store.toString(),
                    "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
            assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(keytool.exitValue()).as(new String(keytool.getInputStream().readAllBytes())).isZero();
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                keys.load(in, "changeit".toCharArray());
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, "changeit".toCharArray());
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(kmf.getKeyManagers(), null, null);
            socket = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket(0, 16,
                    InetAddress.getLoopbackAddress());
            thread = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (SSLSocket client = (SSLSocket) socket.accept()) {
                        client.startHandshake();
                    } catch (IOException e) {
                        // the client refuses the certificate; next
                    }
                }
            }, "tls-server");
            thread.setDaemon(true);
            thread.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
