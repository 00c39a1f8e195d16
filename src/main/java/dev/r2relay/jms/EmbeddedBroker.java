package dev.r2relay.jms;

import dev.r2relay.config.RelayConfiguration;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyAcceptor;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.activemq.artemis.spi.core.remoting.Acceptor;

/**
 * An Apache ActiveMQ Artemis broker inside the relay's process: a persistent journal in a folder,
 * one acceptor on 127.0.0.1 speaking CORE and AMQP, and no authentication. Only processes on the
 * same machine can connect; that is the whole of its protection.
 */
public final class EmbeddedBroker implements AutoCloseable {

    /** Where messages a consumer gave up on after {@link #MAX_DELIVERY_ATTEMPTS} attempts go. */
    public static final String DEAD_LETTER_QUEUE = "DLQ";
    public static final String EXPIRY_QUEUE = "ExpiryQueue";
    public static final int MAX_DELIVERY_ATTEMPTS = 10;
    private static final String ACCEPTOR = "relay";

    private final EmbeddedActiveMQ broker;
    private final Path folder;
    private final int port;

    private EmbeddedBroker(EmbeddedActiveMQ broker, Path folder, int port) {
        this.broker = broker;
        this.folder = folder;
        this.port = port;
    }

    /**
     * Starts the broker with its journal under {@code folder}, listening on 127.0.0.1:{@code port}
     * (0 for any free port), with {@code queues} created as durable anycast queues.
     */
    public static EmbeddedBroker start(Path folder, int port, String... queues) throws Exception {
        return start(folder, port, -1, queues);
    }

    /**
     * For a command while the relay is stopped: the broker over the relay's journal, on a free port,
     * failing after a few seconds, instead of waiting, when a running relay holds the journal.
     */
    public static EmbeddedBroker startOnJournal(Path folder, String... queues) throws Exception {
        Path root = folder.toAbsolutePath().normalize();
        if (journalLocked(root)) {
            // said here, before Artemis waits for the lock and logs its own failure
            throw new RelayConfiguration.StartupCheckException(inUse(root));
        }
        return start(folder, 0, 3000, queues);
    }

    /** True when a broker (a running relay) holds one of the journal's lock files. */
    private static boolean journalLocked(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            return false;
        }
        try (DirectoryStream<Path> locks = Files.newDirectoryStream(root, "server*lock*")) {
            for (Path lock : locks) {
                try (FileChannel channel = FileChannel.open(lock, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    FileLock held = channel.tryLock();
                    if (held == null) {
                        return true;
                    }
                    held.release();
                } catch (OverlappingFileLockException e) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String inUse(Path root) {
        return "the embedded JMS broker's journal in " + root + " is in use (is the relay running? give it a fixed"
                + " relay.jms.port, not 0, so that commands can reach its broker)";
    }

    private static EmbeddedBroker start(Path folder, int port, long lockTimeoutMs, String... queues)
            throws Exception {
        Path root = folder.toAbsolutePath().normalize();
        Files.createDirectories(root);
        Configuration config = new ConfigurationImpl()
                .setName("r2-relay")
                .setPersistenceEnabled(true)
                // every persistent message is on disk before the send returns
                .setJournalType(JournalType.NIO)
                .setJournalDatasync(true)
                .setJournalSyncNonTransactional(true)
                .setJournalDirectory(root.resolve("journal").toString())
                .setBindingsDirectory(root.resolve("bindings").toString())
                .setLargeMessagesDirectory(root.resolve("large-messages").toString())
                .setPagingDirectory(root.resolve("paging").toString())
                .setNodeManagerLockDirectory(root.toString())
                // the duplicate-detection cache (for _AMQ_DUPL_ID) survives restarts
                .setPersistIDCache(true)
                .setSecurityEnabled(false)
                .setJMXManagementEnabled(false)
                .addAcceptorConfiguration(ACCEPTOR, "tcp://127.0.0.1:" + port + "?protocols=CORE,AMQP")
                .addAddressSetting("#", new AddressSettings()
                        .setDeadLetterAddress(SimpleString.of(DEAD_LETTER_QUEUE))
                        .setExpiryAddress(SimpleString.of(EXPIRY_QUEUE))
                        .setMaxDeliveryAttempts(MAX_DELIVERY_ATTEMPTS)
                        // a rolled-back message (a trigger whose fetch failed) comes back after 1 s,
                        // then 2, 4, ... 60 s: about six minutes before it moves to DLQ
                        .setRedeliveryDelay(1000)
                        .setRedeliveryMultiplier(2)
                        .setMaxRedeliveryDelay(60_000))
                .setJournalLockAcquisitionTimeout(lockTimeoutMs)
                .addQueueConfiguration(durableQueue(DEAD_LETTER_QUEUE))
                .addQueueConfiguration(durableQueue(EXPIRY_QUEUE));
        for (String queue : queues) {
            config.addQueueConfiguration(durableQueue(queue));
        }
        EmbeddedActiveMQ broker = new EmbeddedActiveMQ().setConfiguration(config);
        String inUse = inUse(root);
        try {
            broker.start();
        } catch (Exception e) {
            stopQuietly(broker);
            if (lockTimeoutMs < 0) {
                throw e;
            }
            throw new RelayConfiguration.StartupCheckException(inUse + ": " + e.getMessage());
        }
        if (lockTimeoutMs >= 0 && !broker.getActiveMQServer().isActive()) {
            stopQuietly(broker);
            throw new RelayConfiguration.StartupCheckException(inUse);
        }
        int actual = actualPort(broker.getActiveMQServer());
        if (actual <= 0) {
            broker.stop();
            throw new RelayConfiguration.StartupCheckException("the embedded JMS broker cannot listen on"
                    + " 127.0.0.1:" + port + " (is another broker running there?): set relay.jms.port"
                    + " (RELAY_JMS_PORT) to a free port, or 0 for any");
        }
        return new EmbeddedBroker(broker, root, actual);
    }

    private static void stopQuietly(EmbeddedActiveMQ broker) {
        try {
            broker.stop();
        } catch (Exception ignored) {
            // it did not start
        }
    }

    private static QueueConfiguration durableQueue(String name) {
        return QueueConfiguration.of(name).setAddress(name).setRoutingType(RoutingType.ANYCAST).setDurable(true);
    }

    /** The bound port, or 0 when the acceptor did not start (Artemis logs and carries on). */
    private static int actualPort(ActiveMQServer server) {
        Acceptor acceptor = server.getRemotingService().getAcceptor(ACCEPTOR);
        if (acceptor instanceof NettyAcceptor netty && netty.isStarted()) {
            return netty.getActualPort();
        }
        return 0;
    }

    /** The port it listens on (the chosen one when started with 0). */
    public int port() {
        return port;
    }

    /** The CORE URL clients in this process and on this machine connect to. */
    public String url() {
        return "tcp://127.0.0.1:" + port;
    }

    public Path folder() {
        return folder;
    }

    /** Messages waiting in {@code queue}, or -1 when there is no such queue. */
    public long messageCount(String queue) {
        Queue q = broker.getActiveMQServer().locateQueue(queue);
        return q == null ? -1 : q.getMessageCount();
    }

    @Override
    public void close() throws Exception {
        broker.stop();
    }
}
