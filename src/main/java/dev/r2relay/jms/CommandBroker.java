package dev.r2relay.jms;

import dev.r2relay.config.RelayConfiguration.StartupCheckException;
import dev.r2relay.config.SettingsException;
import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.JMSException;
import jakarta.jms.JMSSecurityException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;

/**
 * The JMS broker a command (dead-letters) talks to, outside the running application: the external
 * broker of {@code relay.jms.url}; else the running relay's embedded broker on {@code relay.jms.port};
 * else, when no relay runs, the embedded broker started here over the relay's journal for as long
 * as the command needs it.
 */
public final class CommandBroker implements AutoCloseable {

    private final ConnectionFactory factory;
    private final String description;
    private final EmbeddedBroker started;

    private CommandBroker(ConnectionFactory factory, String description, EmbeddedBroker started) {
        this.factory = factory;
        this.description = description;
        this.started = started;
    }

    /** Connects as the relay would with these properties; {@code state} is the local state folder. */
    public static CommandBroker open(Function<String, Optional<String>> properties, String state) throws Exception {
        JmsSettings jms = JmsSettings.from(properties, properties.apply("relay.target").orElse("file"));
        if (jms.external()) {
            ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(jms.url(), jms.username(),
                    jms.password());
            factory.setInitialConnectAttempts(1);
            factory.setReconnectAttempts(0);
            String where = "the JMS broker at " + JmsSettings.safeUrl(jms.url());
            probe(factory, where);
            return new CommandBroker(factory, where, null);
        }
        if (jms.port() > 0) {
            String url = "tcp://127.0.0.1:" + jms.port();
            ActiveMQConnectionFactory running = new ActiveMQConnectionFactory(url);
            running.setInitialConnectAttempts(1);
            running.setReconnectAttempts(0);
            if (reachable(running)) {
                return new CommandBroker(running, "the running relay's embedded JMS broker at " + url, null);
            }
            running.close();
        }
        Path folder = Path.of(state).toAbsolutePath().normalize().resolve("artemis");
        EmbeddedBroker broker = EmbeddedBroker.startOnJournal(folder, jms.deadLetterQueue().stream()
                .toArray(String[]::new));
        return new CommandBroker(new ActiveMQConnectionFactory(broker.url()), "the embedded JMS broker's journal in "
                + folder, broker);
    }

    private static boolean reachable(ConnectionFactory factory) {
        try (Connection c = factory.createConnection()) {
            c.getMetaData();
            return true;
        } catch (JMSException | RuntimeException e) {
            return false;
        }
    }

    private static void probe(ConnectionFactory factory, String where) {
        try (Connection c = factory.createConnection()) {
            c.getMetaData();
        } catch (JMSSecurityException e) {
            throw new SettingsException(where + " refused the credentials (relay.jms.username, relay.jms.password): "
                    + e.getMessage());
        } catch (JMSException | RuntimeException e) {
            throw new StartupCheckException("cannot connect to " + where + " (relay.jms.url): " + e.getMessage());
        }
    }

    public ConnectionFactory factory() {
        return factory;
    }

    /** Which broker this is, for messages: never a credential. */
    public String describe() {
        return description;
    }

    @Override
    public void close() throws Exception {
        if (factory instanceof AutoCloseable closeable) {
            closeable.close();
        }
        if (started != null) {
            started.close();
        }
    }
}
