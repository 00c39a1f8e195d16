package dev.r2relay.jms;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Set;
import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.config.impl.SecurityConfiguration;
import org.apache.activemq.artemis.core.security.Role;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.spi.core.security.ActiveMQJAASSecurityManager;
import org.apache.activemq.artemis.spi.core.security.jaas.InVMLoginModule;

/**
 * A stand-alone Artemis broker for tests of the external-broker mode: one user with a password,
 * a persistent journal, a fixed loopback port, and {@link #stop()} / {@link #start()} to take it
 * away and bring it back with its messages.
 */
final class SecuredBroker implements AutoCloseable {

    private final Path folder;
    private final int port;
    private final String user;
    private final String password;
    private final String queue;
    private EmbeddedActiveMQ broker;

    private SecuredBroker(Path folder, int port, String user, String password, String queue) {
        this.folder = folder;
        this.port = port;
        this.user = user;
        this.password = password;
        this.queue = queue;
    }

    static SecuredBroker start(Path folder, String user, String password, String queue) throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        SecuredBroker b = new SecuredBroker(folder, port, user, password, queue);
        b.start();
        return b;
    }

    void start() throws Exception {
        Configuration config = new ConfigurationImpl()
                .setName("test-broker")
                .setPersistenceEnabled(true)
                .setJournalType(JournalType.NIO)
                .setJournalDirectory(folder.resolve("journal").toString())
                .setBindingsDirectory(folder.resolve("bindings").toString())
                .setLargeMessagesDirectory(folder.resolve("large-messages").toString())
                .setPagingDirectory(folder.resolve("paging").toString())
                .setNodeManagerLockDirectory(folder.toString())
                .setSecurityEnabled(true)
                .setJMXManagementEnabled(false)
                .addAcceptorConfiguration("test", "tcp://127.0.0.1:" + port + "?protocols=CORE")
                .addQueueConfiguration(QueueConfiguration.of(queue).setAddress(queue)
                        .setRoutingType(RoutingType.ANYCAST).setDurable(true));
        config.putSecurityRoles("#", Set.of(new Role("relay", true, true, true, true, true, true, false, true,
                true, true, false, false)));
        SecurityConfiguration users = new SecurityConfiguration();
        users.addUser(user, password);
        users.addRole(user, "relay");
        broker = new EmbeddedActiveMQ()
                .setConfiguration(config)
                .setSecurityManager(new ActiveMQJAASSecurityManager(InVMLoginModule.class.getName(), users));
        broker.start();
    }

    void stop() throws Exception {
        broker.stop();
    }

    String url() {
        return "tcp://127.0.0.1:" + port;
    }

    long messageCount() {
        Queue q = broker.getActiveMQServer().locateQueue(queue);
        return q == null ? -1 : q.getMessageCount();
    }

    @Override
    public void close() throws Exception {
        if (broker != null) {
            broker.stop();
        }
    }
}
