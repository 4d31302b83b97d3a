package io.vigil.server.cluster;

/**
 * The lease row as a node last read it.
 *
 * @param owner the owning node's name, or null when the lease was released
 * @param epoch the fencing epoch; grows by one at every change of owner
 * @param expired whether the lease had expired by the database's clock at the time of reading
 * @param handoverTo the node a released lease is reserved for (a move), or null
 * @param ownerHasLock whether the owner holds the role's advisory lock, so that the lock becoming
 *     free proves the owner's process is gone
 */
public record LeaseView(
    String owner, long epoch, boolean expired, String handoverTo, boolean ownerHasLock) {}
