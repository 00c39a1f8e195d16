package dev.r2relay.jms;

import dev.r2relay.config.RelayConfiguration.StartupCheckException;
import dev.r2relay.config.RelaySettings;
import dev.r2relay.config.SettingsException;
import dev.r2relay.deadletter.DeadLetterStore;
import dev.r2relay.deadletter.DeadLetterStores;
import dev.r2relay.deadletter.JmsDeadLetterStore;
import dev.r2relay.metrics.RelayMetrics;
import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.JMSException;
import jakarta.jms.JMSSecurityException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Processor;
import org.apache.camel.component.jms.JmsComponent;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.service.ServiceSupport;
import org.messaginghub.pooled.jms.JmsPoolConnectionFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Wires the JMS target when JMS is on ({@code relay.target=jms} or {@code relay.jms.enabled=true}):
 * an external Artemis broker at {@code relay.jms.url}, or an embedded one with its journal under
 * {@code relay.state}/artemis, a pooled connection factory for camel-jms, and the beans
 * routes/deliver-jms.camel.yaml names. Otherwise it does nothing and that route is not loaded.
 * Runs after {@link dev.r2relay.config.RelayConfiguration}, whose settings and S3 client it uses.
 */
public final class JmsConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay");

    @Override
    public void configure(CamelContext camel) throws Exception {
        PropertiesComponent properties = camel.getPropertiesComponent();
        String target = properties.resolveProperty("relay.target").orElse("file");
        JmsSettings jms = JmsSettings.from(properties::resolveProperty, target);
        // routes/deliver-jms.camel.yaml is loaded only when JMS is on (its precondition reads this),
        // so the file-only default creates no JMS component at all
        properties.addInitialProperty("relay.jms.enabled", Boolean.toString(jms.enabled()));
        if (!jms.enabled()) {
            return;
        }

        Registry registry = camel.getRegistry();
        RelaySettings relay = registry.lookupByNameAndType("relaySettings", RelaySettings.class);
        if (relay == null) {
            throw new IllegalStateException("JmsConfiguration must be added after RelayConfiguration");
        }
        String brokerName;
        String url;
        if (jms.external()) {
            url = jms.url();
            brokerName = JmsSettings.safeUrl(url);
        } else {
            Path folder = relay.localState().resolve("artemis");
            EmbeddedBroker broker = EmbeddedBroker.start(folder, jms.port(), Stream.concat(Stream.of(jms.queue()),
                    jms.deadLetterQueue().stream()).toArray(String[]::new));
            closeOnStop(camel, "the embedded JMS broker", broker);
            registry.bind("relayJmsBroker", EmbeddedBroker.class, broker);
            url = broker.url();
            brokerName = url;
        }
        JmsPoolConnectionFactory pool = pool(connectionFactory(jms, url), relay.concurrency());
        closeOnStop(camel, "the JMS connection pool", pool::stop);
        registry.bind("relayJmsConnectionFactory", ConnectionFactory.class, pool);
        camel.getComponent("jms", JmsComponent.class).setConnectionFactory(pool);
        bindTargetBeans(registry, jms, brokerName);
        if (jms.deadLetterQueue().isPresent()) {
            registry.bind(DeadLetterStores.QUEUE_STORE, DeadLetterStore.class,
                    new JmsDeadLetterStore(pool, jms.deadLetterQueue().get(), "the JMS broker at " + brokerName));
        }

        String where = jms.external() ? jms.toString()
                : "embedded Artemis broker at " + url + " (CORE and AMQP, no authentication: loopback only; journal "
                + registry.lookupByNameAndType("relayJmsBroker", EmbeddedBroker.class).folder() + ")";
        boolean reachable = probe(pool, brokerName);
        LOG.info("JMS: {} -> queue {}; objects up to {} bytes travel inline, larger ones as links valid for {}{}",
                where, jms.queue(), jms.maxInlineSize(), jms.linkExpiry(),
                reachable ? "" : " (broker not reachable yet)");
        if (relay.afterDelivery() != RelaySettings.AfterDelivery.KEEP) {
            LOG.info("relay.after-delivery={} applies to objects sent inline; objects sent as links stay in the"
                    + " bucket so that their links work", relay.afterDelivery().name().toLowerCase(Locale.ROOT));
        }
    }

    private static void bindTargetBeans(Registry registry, JmsSettings jms, String brokerName) {
        S3Client s3 = registry.lookupByNameAndType("r2Client", S3Client.class);
        S3Presigner presigner = registry.lookupByNameAndType("r2Presigner", S3Presigner.class);
        JmsFailures failures = new JmsFailures(brokerName);
        registry.bind("jmsFailures", failures);
        registry.bind("jmsTarget", new JmsTarget(s3, presigner, jms, failures));
        registry.bind("jmsWireHeaders", new JmsTarget.WireHeaders());
        RelayMetrics metrics = registry.lookupByNameAndType("relayMetrics", RelayMetrics.class);
        // relay-jms-errors runs it before each new attempt of a refused send
        Processor retried = exchange -> metrics.retried("jms");
        registry.bind("jmsSendRetried", Processor.class, retried);
    }

    private static ActiveMQConnectionFactory connectionFactory(JmsSettings jms, String url) {
        ActiveMQConnectionFactory factory;
        try {
            factory = new ActiveMQConnectionFactory(url, jms.username(), jms.password());
        } catch (RuntimeException e) {
            throw new SettingsException("relay.jms.url (RELAY_JMS_URL) '" + JmsSettings.safeUrl(url)
                    + "' is not a valid Artemis URL: " + e.getMessage());
        }
        // a persistent send returns only once the broker has the message on disk
        factory.setBlockOnDurableSend(true);
        // while the broker is down a send fails at once (the default waits 2 s per attempt for
        // topology members); the pool opens a new connection for the next send. Options written
        // in relay.jms.url win.
        String options = url.toLowerCase(Locale.ROOT);
        if (!options.contains("reconnectattempts=")) {
            factory.setReconnectAttempts(0);
        }
        if (!options.contains("initialconnectattempts=")) {
            factory.setInitialConnectAttempts(1);
        }
        if (!options.contains("usetopologyforloadbalancing=")) {
            factory.setUseTopologyForLoadBalancing(false);
        }
        return factory;
    }

    private static JmsPoolConnectionFactory pool(ConnectionFactory factory, int concurrency) {
        JmsPoolConnectionFactory pool = new JmsPoolConnectionFactory();
        pool.setConnectionFactory(factory);
        pool.setMaxConnections(1);
        pool.setMaxSessionsPerConnection(Math.max(16, concurrency * 2));
        // a leaked session must not hang a delivery forever
        pool.setBlockIfSessionPoolIsFullTimeout(30_000);
        // the Artemis connection does not reconnect by itself (reconnectAttempts=0), so a connection
        // that reports a failure is closed and the next send opens a new one
        pool.setFaultTolerantConnections(false);
        pool.setUseAnonymousProducers(true);
        pool.start();
        return pool;
    }

    /**
     * Opens the pooled connection once. Wrong credentials stop the start; a broker that is down
     * does not: objects wait in the bucket until it is back.
     */
    private static boolean probe(ConnectionFactory pool, String brokerName) {
        try (Connection connection = pool.createConnection()) {
            connection.getMetaData();
            return true;
        } catch (JMSSecurityException e) {
            throw new StartupCheckException("the JMS broker at " + brokerName + " refused the credentials"
                    + " (relay.jms.username, relay.jms.password): " + e.getMessage());
        } catch (JMSException | RuntimeException e) {
            LOG.warn("At start: {}; objects stay in the bucket and every poll tries again",
                    JmsFailures.describe(e, brokerName).text());
            return false;
        }
    }

    private static void closeOnStop(CamelContext camel, String what, AutoCloseable resource) throws Exception {
        camel.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                try {
                    resource.close();
                } catch (Exception e) {
                    LOG.warn("Closing {} failed: {}", what, e.getMessage());
                }
            }
        }, true, true);
    }
}
