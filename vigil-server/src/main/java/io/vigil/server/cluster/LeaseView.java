package io.vigil.server.cluster;

/**
 * The lease row as a node last read it.
 *
 * @param owner the owning node's name, or null when the lease was released
 * @param epoch the fencing epoch; grows by one at every change of owner
 * @param expired whether the lease had expired by the database's clock at the time of reading
 * @param handoverTo the node a released lease is reserved for (a move), or null
 * @param ownerHasLock whether the owner holds the role's advisory lock; the lock becoming free says
 *     that the owner's lock session ended, which alone does not prove its process did
 * @param ownerGone proof, read when this node just took the lock, that the owner's process ended:
 *     no database session of its process remains, and it renewed the lease after this node's lock
 *     session opened (so its sessions did not all end in a restart of the database server)
 */
public record LeaseView(
    NodeId owner,
    Epoch epoch,
    boolean expired,
    NodeId handoverTo,
    boolean ownerHasLock,
    boolean ownerGone) {}
