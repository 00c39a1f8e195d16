package dev.r2relay.state;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Claims for the embedded ledger, which one process holds: a set in memory keeps a poll's delivery
 * and a trigger's for the same key from running at once.
 */
final class LocalClaims implements ObjectClaims {

    private final Set<String> held = ConcurrentHashMap.newKeySet();

    @Override
    public Claim claim(String bucket, String key, String etag) {
        return new Claim(held.add(bucket + '\u0000' + key) ? Result.CLAIMED : Result.HELD, owner());
    }

    @Override
    public void release(String bucket, String key) {
        held.remove(bucket + '\u0000' + key);
    }

    @Override
    public String owner() {
        return "this process";
    }

    @Override
    public void close() {
        held.clear();
    }
}
