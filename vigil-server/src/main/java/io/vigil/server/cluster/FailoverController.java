package io.vigil.server.cluster;

import io.vigil.server.cluster.RoleController.ResourceState;
import io.vigil.server.collector.SiteEvents;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The failover controller of one node: it runs the {@link RoleController} state machine against the
 * real world. One thread feeds the state machine (ticks every 10 ms and results of actions); one
 * worker carries out database actions in order; resource starts, stops and checks run on their own
 * threads under the timeouts of their policies. Nothing here decides anything.
 *
 * <p>Call {@link #start()} once and {@link #close()} to stop: close stops the resources, releases
 * the lease (handing it to the best other node) and returns, or gives up after 30 s.
 *
 * <p>Request handlers ask {@link #isActive()}, which compares the owner's deadline with the clock
 * on every call: a node that wakes from a pause answers as a standby before its controller thread
 * has noticed anything.
 */
public final class FailoverController implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FailoverController.class);
  static final String CLIENT_ACCESS_POINT = "client-access-point";

  private final String me;
  private final ClusterTiming timing;
  private final RolePolicy policy;
  private final LeaseStore store;
  private final EpochFence fence;
  private final SiteEvents siteEvents;
  private final List<Resource> builtins;
  private final Supplier<List<GenericResource.Definition>> genericDefinitions;
  private final java.nio.file.Path workingDirectory;
  private final Map<String, String> resourceEnvironment;
  private final Map<String, Resource> resources = new LinkedHashMap<>();
  private final BlockingQueue<ControllerEvent> events = new LinkedBlockingQueue<>();
  private final ExecutorService dbWorker;
  private final ExecutorService bookkeeping;
  private final ExecutorService resourceWorkers = Executors.newVirtualThreadPerTaskExecutor();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Map<String, ResourceState> reported = new HashMap<>();
  private RoleController controller;
  private Thread loop;
  private volatile boolean running;
  private volatile long ownerUntil = Long.MIN_VALUE;
  private volatile boolean accessPointUp;
  private volatile RoleController.Status status;
  private volatile ClusterView lastView;
  private String genericVersion = "";
  private final java.util.function.IntConsumer halt;
  private final DeadMansSwitch deadMansSwitch;
  private final String instance;
  private volatile Throwable fatal;

  /**
   * The exit code of a node whose failover controller cannot go on (70, EX_SOFTWARE of sysexits):
   * the service manager restarts the process, which joins the cluster afresh.
   */
  public static final int EXIT_CONTROLLER_FAILED = 70;

  /** How long a failing controller waits for the role's resources to stop before it halts. */
  static final Duration CRASH_STOP_BOUND = Duration.ofSeconds(5);

  /**
   * How much longer it may take to drop the lock and lease sessions (the lock connection's socket
   * timeout is 3 s); the process halts then, whatever is still going on.
   */
  static final Duration CRASH_RELEASE_BOUND = Duration.ofSeconds(5);

  /**
   * @param builtins the role's built-in resources
   * @param genericDefinitions reads the operator-defined resources (called on the database worker)
   * @param workingDirectory where generic resources run their commands (the data directory)
   * @param resourceEnvironment the environment generic resources' commands run with ({@link
   *     CommandEnvironment#of})
   * @param halt ends the process with the given exit code when the controller cannot go on ({@link
   *     #EXIT_CONTROLLER_FAILED}); a node passes {@code Runtime.getRuntime()::halt}
   * @param deadMansSwitch ends what generic resources started when this node stops renewing;
   *     generic resources start only once it runs. Null for none (tests of built-ins only).
   */
  FailoverController(
      String me,
      ClusterTiming timing,
      RolePolicy policy,
      LeaseStore store,
      EpochFence fence,
      List<Resource> builtins,
      Supplier<List<GenericResource.Definition>> genericDefinitions,
      java.nio.file.Path workingDirectory,
      Map<String, String> resourceEnvironment,
      java.util.function.IntConsumer halt,
      DeadMansSwitch deadMansSwitch) {
    this(
        me,
        timing,
        policy,
        store,
        fence,
        builtins,
        genericDefinitions,
        workingDirectory,
        resourceEnvironment,
        halt,
        deadMansSwitch,
        (h, type, source, severity, message, data) -> {});
  }

  /**
   * As above, with where Vigil's own events about the role go ({@link ClusterSiteEvents}): {@code
   * cluster.failover}, {@code cluster.move} and {@code role.failed}.
   */
  FailoverController(
      String me,
      ClusterTiming timing,
      RolePolicy policy,
      LeaseStore store,
      EpochFence fence,
      List<Resource> builtins,
      Supplier<List<GenericResource.Definition>> genericDefinitions,
      java.nio.file.Path workingDirectory,
      Map<String, String> resourceEnvironment,
      java.util.function.IntConsumer halt,
      DeadMansSwitch deadMansSwitch,
      SiteEvents siteEvents) {
    this.siteEvents = siteEvents;
    this.me = me;
    this.halt = halt;
    this.deadMansSwitch = deadMansSwitch;
    this.instance =
        deadMansSwitch == null ? "local-" + java.util.UUID.randomUUID() : deadMansSwitch.instance();
    this.workingDirectory = workingDirectory;
    this.resourceEnvironment = Map.copyOf(resourceEnvironment);
    this.timing = timing;
    this.policy = policy;
    this.store = store;
    this.fence = fence;
    this.builtins = List.copyOf(builtins);
    this.genericDefinitions = genericDefinitions;
    this.dbWorker =
        Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("vigil-cluster-db").daemon().unstarted(r));
    this.bookkeeping =
        Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("vigil-cluster-bookkeeping").daemon().unstarted(r));
  }

  public void start() {
    builtins.forEach(r -> resources.put(r.name(), r));
    controller =
        new RoleController(
            new NodeId(me),
            timing,
            policy,
            builtins.stream().map(ResourceSpec::of).toList(),
            System.nanoTime());
    running = true;
    loop = Thread.ofPlatform().name("vigil-failover-controller").start(this::run);
  }

  /** Whether this node is the active one right now: it owns the role and its access point is up. */
  public boolean isActive() {
    return accessPointUp && System.nanoTime() < ownerUntil;
  }

  /**
   * Whether this node owns the role by its own clock: its renew deadline has not passed. What a
   * resource checks before it claims something on the network for the role (the virtual IP), so
   * that an owner woken from a pause does not claim it again after the switch took it away.
   */
  public boolean ownsByItsClock() {
    return System.nanoTime() < ownerUntil;
  }

  /** Whether this node is active with every resource of the role running. */
  public boolean isServing() {
    RoleController.Status s = status;
    return isActive()
        && s != null
        && s.resources().stream().allMatch(r -> r.state() == ResourceState.RUNNING);
  }

  /** A node's advertised URL as of the last observation, or null. */
  public String nodeUrl(String node) {
    return store.nodeUrls().get(node);
  }

  /** The last state the controller showed, for status displays. */
  public RoleController.Status status() {
    return status;
  }

  /** The last view of the shared state, or null before the first. */
  public ClusterView lastView() {
    return lastView;
  }

  /** A write was fenced: this node lost the role. */
  void fenced(String why) {
    events.add(new ControllerEvent.Fenced(why));
  }

  // ---------------------------------------------------------------- the loop

  private void run() {
    Throwable crash = null;
    try {
      while (running || !controller.isShutdownComplete()) {
        ControllerEvent event = events.poll(10, TimeUnit.MILLISECONDS);
        if (fatal != null) {
          crash = fatal;
          break;
        }
        handle(event == null ? new ControllerEvent.Tick() : event);
        if (controller.isShutdownComplete()) {
          break;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable e) {
      crash = e;
    } finally {
      if (crash != null) {
        haltAfterCrash(crash);
      }
      stopped.countDown();
    }
  }

  /**
   * Something that cannot be handled: a bug in the state machine, an {@link Error} in the loop or
   * in the controller's own work, a {@link VirtualMachineError} anywhere. Going on would leave a
   * zombie owner (resources running, the lock held, nobody renewing), so the node stops being
   * active at once, stops every resource it knows in parallel within {@link #CRASH_STOP_BOUND},
   * drops its lock and lease sessions, and halts with {@link #EXIT_CONTROLLER_FAILED}.
   */
  private void haltAfterCrash(Throwable crash) {
    Epoch epoch = new Epoch(fence.epoch());
    ownerUntil = Long.MIN_VALUE;
    accessPointUp = false;
    fence.epoch(-1);
    Thread.ofPlatform()
        .name("vigil-crash-halt")
        .daemon()
        .start(
            () -> {
              try {
                Thread.sleep(CRASH_STOP_BOUND.plus(CRASH_RELEASE_BOUND).toMillis());
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              halt.accept(EXIT_CONTROLLER_FAILED);
            });
    try {
      log.error(
          "The failover controller of {} cannot go on; stopping the role's resources and halting"
              + " with exit code {} so that the service manager restarts the node",
          me,
          EXIT_CONTROLLER_FAILED,
          crash);
      List<Resource> all;
      synchronized (resources) {
        all = List.copyOf(resources.values());
      }
      List<Thread> stops = new java.util.ArrayList<>();
      java.util.Set<String> ended = java.util.concurrent.ConcurrentHashMap.newKeySet();
      for (Resource r : all) {
        stops.add(
            Thread.ofPlatform()
                .name("vigil-crash-stop-" + r.name())
                .daemon()
                .start(
                    () -> {
                      try {
                        r.stop();
                        ended.add(r.name());
                      } catch (Throwable e) {
                        log.warn("Resource {} did not stop: {}", r.name(), cause(e));
                        if (forceStop(r)) {
                          ended.add(r.name());
                        }
                      }
                    }));
      }
      long deadline = System.nanoTime() + CRASH_STOP_BOUND.toNanos();
      for (Thread t : stops) {
        long left = deadline - System.nanoTime();
        if (left > 0) {
          t.join(Duration.ofNanos(left));
        }
        if (t.isAlive()) {
          log.warn("{} did not finish within {} ms", t.getName(), CRASH_STOP_BOUND.toMillis());
        }
      }
      boolean allStopped = ended.size() == all.size();
      dbWorker.shutdownNow();
      bookkeeping.shutdownNow();
      dbWorker.awaitTermination(1, TimeUnit.SECONDS);
      try {
        HistoryText.Entry e =
            HistoryText.render(
                new HistoryEvent.ControllerFailed(
                    new NodeId(me),
                    cause(crash),
                    allStopped,
                    CRASH_STOP_BOUND,
                    EXIT_CONTROLLER_FAILED));
        store.history(e.event(), e.reason());
      } catch (Exception e) {
        log.warn("Could not record the controller's failure: {}", e.getMessage());
      }
      // Give the lease up only when nothing of the role can still run here; otherwise it expires.
      if (allStopped && epoch.value() > 0) {
        try {
          store.release(epoch, null);
        } catch (Exception e) {
          log.warn("Could not release the lease (it will expire by itself): {}", e.getMessage());
        }
      }
      store.close();
    } catch (Throwable e) {
      // Halting matters more than anything said about it.
    } finally {
      System.out.flush();
      System.err.flush();
      halt.accept(EXIT_CONTROLLER_FAILED);
    }
  }

  /** Work on another thread met something the controller cannot go on from. */
  private void fatal(Throwable t) {
    if (fatal == null) {
      fatal = t;
    }
  }

  private void handle(ControllerEvent event) {
    long now = System.nanoTime();
    List<ControllerAction> actions = controller.handle(event, now);
    boolean owner = controller.isOwner();
    fence.epoch(owner ? controller.epoch().value() : -1);
    ownerUntil = controller.ownerUntil();
    accessPointUp = owner && controller.state(CLIENT_ACCESS_POINT) == ResourceState.RUNNING;
    status = controller.status();
    if (owner && deadMansSwitch != null) {
      deadMansSwitch.arm(controller.epoch().value(), controller.ownerUntil());
    }
    if (event instanceof ControllerEvent.Observed o) {
      lastView = o.view();
    }
    for (ControllerAction action : actions) {
      carryOut(action);
    }
    reportStates();
  }

  private void reportStates() {
    for (RoleController.ResourceStatus r : status.resources()) {
      if (reported.get(r.name()) != r.state()) {
        reported.put(r.name(), r.state());
        String name = r.name();
        String state = r.state().name().toLowerCase(Locale.ROOT);
        String problem = r.lastProblem();
        db(() -> store.resourceState(name, state, problem));
      }
    }
  }

  private void carryOut(ControllerAction action) {
    switch (action) {
      case ControllerAction.Observe o ->
          dbWorker.execute(
              () -> {
                try {
                  ClusterView view = store.observe(o.asOwner(), o.heartbeat(), policy);
                  if (o.readResources()) {
                    pollGenerics();
                  }
                  List<ManualRequest> requests = new java.util.ArrayList<>();
                  if (o.requestsAfter() != null) {
                    store.requestsAfter(
                        o.requestsAfter(),
                        (id, kind, resource, by) ->
                            requests.add(
                                new ManualRequest(id, "start".equals(kind), resource, by)));
                  }
                  events.add(new ControllerEvent.Observed(view, requests));
                } catch (Exception e) {
                  events.add(new ControllerEvent.ObserveFailed(String.valueOf(e.getMessage())));
                } catch (Throwable e) {
                  fatal(e);
                }
              });
      case ControllerAction.Acquire a -> {
        long sent = System.nanoTime();
        dbWorker.execute(
            () -> {
              try {
                Epoch epoch = store.acquire(a.mode(), a.seenOwner(), a.seenEpoch());
                if (epoch != null) {
                  events.add(new ControllerEvent.Acquired(epoch, sent, store.holdsLock()));
                } else {
                  events.add(new ControllerEvent.NotAcquired("the lease changed"));
                }
              } catch (Exception e) {
                events.add(new ControllerEvent.NotAcquired(String.valueOf(e.getMessage())));
              } catch (Throwable e) {
                fatal(e);
              }
            });
      }
      case ControllerAction.Renew r -> {
        long sent = System.nanoTime();
        dbWorker.execute(
            () -> {
              try {
                boolean ok = store.renew(r.epoch());
                events.add(
                    ok
                        ? new ControllerEvent.Renewed(sent, store.holdsLock())
                        : new ControllerEvent.RenewFailed(
                            true, "the lease is no longer this node's at epoch " + r.epoch()));
              } catch (Exception e) {
                events.add(new ControllerEvent.RenewFailed(false, String.valueOf(e.getMessage())));
              } catch (Throwable e) {
                fatal(e);
              }
            });
      }
      case ControllerAction.Release r ->
          dbWorker.execute(
              () -> {
                try {
                  store.release(r.epoch(), r.handoverTo());
                } catch (Exception e) {
                  log.warn(
                      "Could not release the lease (it will expire by itself): {}", e.getMessage());
                } catch (Throwable e) {
                  fatal(e);
                }
                events.add(new ControllerEvent.Released());
              });
      case ControllerAction.ReleaseLock r -> db(store::releaseLock);
      case ControllerAction.Start s -> startResource(s.name(), s.epoch().value(), s.within());
      case ControllerAction.Stop s -> stopResource(s.name(), s.within());
      case ControllerAction.Check c -> checkResource(c.name(), c.seq());
      case ControllerAction.Record r -> {
        HistoryText.Entry e = HistoryText.render(r.event());
        log.info("Cluster: {} - {}", e.event(), e.reason());
        db(() -> store.history(e.event(), e.reason()));
        // Through the fence, after the transition: only the node holding the role stores it.
        ClusterSiteEvents.of(r.event(), new NodeId(me))
            .ifPresent(
                ev ->
                    db(
                        () ->
                            fence.run(
                                h ->
                                    siteEvents.raise(
                                        h,
                                        ev.type(),
                                        ev.source(),
                                        ev.severity(),
                                        ev.message(),
                                        ev.data()))));
      }
      // These three stay in order with the lease's own work: the role is marked failed and a move
      // cleared before the release that follows them.
      case ControllerAction.MarkRoleFailed f -> {
        String reason = HistoryText.reason(f.reason());
        log.error("Cluster: the role is marked failed: {}", reason);
        leaseWork(() -> store.markRoleFailed(f.epoch(), reason));
      }
      case ControllerAction.ClearMove c -> leaseWork(() -> store.clearMove(c.epoch()));
      case ControllerAction.Drained d -> leaseWork(store::drained);
      case ControllerAction.ShutdownComplete s ->
          log.info("Cluster: {} stopped its part in the cluster", me);
    }
  }

  private interface DbTask {
    void run() throws Exception;
  }

  /** Bookkeeping (history, resource states) on its own worker, so it never delays a renewal. */
  private void db(DbTask task) {
    bookkeeping.execute(() -> runQuietly(task));
  }

  /** Bookkeeping that must stay in order with acquisitions, renewals and releases. */
  private void leaseWork(DbTask task) {
    dbWorker.execute(() -> runQuietly(task));
  }

  private void runQuietly(DbTask task) {
    try {
      task.run();
    } catch (Exception e) {
      log.warn("Cluster bookkeeping failed: {}", e.getMessage());
    } catch (Throwable e) {
      fatal(e);
    }
  }

  private void pollGenerics() {
    List<GenericResource.Definition> defs = genericDefinitions.get();
    String version = defs.toString();
    if (version.equals(genericVersion)) {
      return;
    }
    genericVersion = version;
    Map<String, Resource> next = new LinkedHashMap<>();
    builtins.forEach(r -> next.put(r.name(), r));
    for (GenericResource.Definition d : defs) {
      Resource existing = resources.get(d.name());
      if (existing instanceof GenericResource g && g.definition().equals(d)) {
        next.put(d.name(), existing);
      } else {
        next.put(
            d.name(), new GenericResource(d, me, workingDirectory, instance, resourceEnvironment));
      }
    }
    // Resources being removed stay reachable until the controller has stopped them.
    synchronized (resources) {
      for (Map.Entry<String, Resource> e : next.entrySet()) {
        resources.put(e.getKey(), e.getValue());
      }
    }
    events.add(
        new ControllerEvent.ResourcesChanged(
            next.values().stream().map(ResourceSpec::of).toList()));
  }

  // ---------------------------------------------------------------- resources

  private Resource resource(String name) {
    synchronized (resources) {
      return Objects.requireNonNull(resources.get(name), name);
    }
  }

  private void startResource(String name, long epoch, Duration within) {
    Resource r = resource(name);
    Future<?> f =
        resourceWorkers.submit(
            () -> {
              if (r.needsDeadMansSwitch()) {
                requireSwitch();
              }
              r.start(epoch);
              return null;
            });
    resourceWorkers.execute(
        () -> {
          try {
            f.get(within.toMillis(), TimeUnit.MILLISECONDS);
            events.add(new ControllerEvent.ResourceStarted(name));
          } catch (TimeoutException e) {
            f.cancel(true);
            events.add(
                new ControllerEvent.ResourceStartFailed(
                    name, "did not start within " + within.toMillis() + " ms"));
          } catch (Throwable e) {
            if (jvmBroken(e)) {
              fatal(e);
            } else {
              events.add(new ControllerEvent.ResourceStartFailed(name, cause(e)));
            }
          }
        });
  }

  /** Generic resources and a virtual IP run only under a running dead man's switch. */
  private void requireSwitch() throws java.io.IOException {
    if (deadMansSwitch == null) {
      return;
    }
    try {
      deadMansSwitch.ensureRunning();
    } catch (java.io.IOException e) {
      throw new java.io.IOException(
          "the dead man's switch, which ends generic resources and removes the virtual IP address"
              + " when this node stops renewing its lease, could not be started: "
              + e.getMessage(),
          e);
    }
  }

  private void stopResource(String name, Duration within) {
    Resource r = resource(name);
    Future<?> f =
        resourceWorkers.submit(
            () -> {
              r.stop();
              return null;
            });
    resourceWorkers.execute(
        () -> {
          String problem = null;
          try {
            f.get(within.toMillis(), TimeUnit.MILLISECONDS);
          } catch (TimeoutException e) {
            f.cancel(true);
            problem = "did not stop within " + r.policy().stopTimeout().toMillis() + " ms";
          } catch (Throwable e) {
            if (jvmBroken(e)) {
              fatal(e);
              return;
            }
            problem = "stop failed: " + cause(e);
          }
          if (problem != null) {
            log.warn("Resource {} {}; ending it by force", name, problem);
            if (!forceStop(r)) {
              events.add(
                  new ControllerEvent.ResourceStopFailed(
                      name, problem + "; ending it by force could not make sure it stopped"));
              return;
            }
            problem += "; what it left running was ended by force";
          }
          events.add(new ControllerEvent.ResourceStopped(name, problem));
        });
  }

  /** {@link Resource#forceStop}, where anything it throws means it could not. */
  private static boolean forceStop(Resource r) {
    try {
      return r.forceStop();
    } catch (RuntimeException e) {
      log.warn("Resource {} could not be ended by force: {}", r.name(), cause(e));
      return false;
    }
  }

  private void checkResource(String name, long seq) {
    Resource r = resource(name);
    resourceWorkers.execute(
        () -> {
          String problem;
          try {
            problem = r.check();
          } catch (Throwable e) {
            if (jvmBroken(e)) {
              fatal(e);
              return;
            }
            problem = cause(e);
          }
          events.add(new ControllerEvent.CheckResult(name, seq, problem));
        });
  }

  /**
   * Whether a resource's failure means the JVM itself is unreliable (out of memory, stack overflow,
   * an internal error), which no restart of the resource can fix. Other failures, {@link Error}s
   * included, are the resource's and count against its restart limit.
   */
  private static boolean jvmBroken(Throwable e) {
    return unwrapped(e) instanceof VirtualMachineError;
  }

  /** What a resource's call threw, without the executor's wrapping. */
  private static Throwable unwrapped(Throwable e) {
    return e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
        ? e.getCause()
        : e;
  }

  private static String cause(Throwable e) {
    Throwable t = unwrapped(e);
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  // ---------------------------------------------------------------- stop

  @Override
  public void close() {
    if (controller == null) {
      return;
    }
    running = false;
    events.add(new ControllerEvent.Shutdown());
    try {
      if (!stopped.await(30, TimeUnit.SECONDS)) {
        log.warn("The failover controller of {} did not stop within 30 s; stopping anyway", me);
        loop.interrupt();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    ownerUntil = Long.MIN_VALUE;
    fence.epoch(-1);
    dbWorker.shutdown();
    bookkeeping.shutdown();
    try {
      dbWorker.awaitTermination(5, TimeUnit.SECONDS);
      bookkeeping.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    resourceWorkers.shutdownNow();
    if (deadMansSwitch != null) {
      deadMansSwitch.close();
    }
    store.close();
  }
}
