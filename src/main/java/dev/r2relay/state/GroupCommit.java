package dev.r2relay.state;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes that arrive together share one transaction. Every delivery records its object before it
 * is done, and each commit of the embedded store is a write to disk that the others would queue
 * behind; here, the first caller to find no commit under way writes everything queued so far in one
 * transaction, while later callers wait for that commit (or write the next batch themselves). A
 * caller returns only once its own write is committed, so nothing is acknowledged early.
 */
final class GroupCommit {

    /** One write, applied inside the shared transaction. */
    @FunctionalInterface
    interface Write {
        void apply(Connection connection) throws SQLException;
    }

    /** Hands out a connection for a batch. */
    @FunctionalInterface
    interface Connections {
        Connection open() throws SQLException;
    }

    private static final class Pending {
        final Write write;
        boolean done;
        SQLException failure;

        Pending(Write write) {
            this.write = write;
        }
    }

    private final Connections connections;
    private final Object lock = new Object();
    private List<Pending> queued = new ArrayList<>();
    private boolean committing;

    GroupCommit(Connections connections) {
        this.connections = connections;
    }

    /** Applies {@code write} and returns once it is committed; throws what the write threw. */
    void submit(Write write) throws SQLException {
        Pending mine = new Pending(write);
        synchronized (lock) {
            queued.add(mine);
        }
        while (true) {
            List<Pending> batch;
            synchronized (lock) {
                while (committing && !mine.done) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        // the write may still be committed by the batch under way; the caller treats
                        // this as a failure and the ledger stays consistent either way
                        throw new SQLException("interrupted while waiting for the ledger to commit", e);
                    }
                }
                if (mine.done) {
                    if (mine.failure != null) {
                        throw mine.failure;
                    }
                    return;
                }
                committing = true;
                batch = queued;
                queued = new ArrayList<>();
            }
            try {
                commit(batch);
            } finally {
                synchronized (lock) {
                    committing = false;
                    lock.notifyAll();
                }
            }
        }
    }

    /** One transaction for the batch; if it fails, each write alone, so that one bad row fails only its caller. */
    private void commit(List<Pending> batch) {
        SQLException batchFailure = null;
        if (batch.size() > 1) {
            try (Connection c = connections.open()) {
                c.setAutoCommit(false);
                try {
                    for (Pending p : batch) {
                        p.write.apply(c);
                    }
                    c.commit();
                    finish(batch, null);
                    return;
                } catch (SQLException e) {
                    batchFailure = e;
                    rollbackQuietly(c);
                } finally {
                    c.setAutoCommit(true);
                }
            } catch (SQLException e) {
                batchFailure = batchFailure == null ? e : batchFailure;
            }
        }
        for (Pending p : batch) {
            try (Connection c = connections.open()) {
                p.write.apply(c);
                finish(List.of(p), null);
            } catch (SQLException e) {
                finish(List.of(p), e);
            }
        }
    }

    private void finish(List<Pending> done, SQLException failure) {
        synchronized (lock) {
            for (Pending p : done) {
                p.done = true;
                p.failure = failure;
            }
        }
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // the connection is discarded by the pool if it is broken
        }
    }
}
