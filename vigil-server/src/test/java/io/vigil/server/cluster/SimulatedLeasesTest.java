package io.vigil.server.cluster;

/** The simulation's in-memory database keeps the lease store's contract. */
class SimulatedLeasesTest extends LeasesContract {

  private long now = SimulatedCluster.START;
  private final SimulatedCluster.Db db = new SimulatedCluster.Db(ClusterTiming.DEFAULT, () -> now);

  @Override
  Leases node(String name) {
    db.processes.put(name, now);
    return db.leases(name);
  }

  @Override
  void expireLease() {
    now += ClusterTiming.DEFAULT.leaseDuration().toNanos() + SimulatedCluster.MS;
  }

  @Override
  void requestMove(String node) {
    db.moveTo = node;
  }

  @Override
  boolean roleFailed() {
    return db.roleFailed;
  }

  @Override
  String moveTo() {
    return db.moveTo;
  }
}
