package io.vigil.server.cluster;

import java.util.List;

/**
 * One resource of the role: something the active node starts, watches and stops, in dependency
 * order. Built-in parts (client access point, identity provider, management server, …) and
 * operator-defined generic commands implement this one interface; the controller special-cases none
 * of them.
 *
 * <p>The controller calls {@link #start}, {@link #stop} and {@link #check} from worker threads,
 * never two of them at once for the same resource, and enforces the timeouts of {@link #policy()}:
 * a call that overruns is treated as failed (start, check) or forced (stop) and its late result is
 * ignored. Implementations must therefore tolerate {@code stop} after a start that was abandoned.
 */
public interface Resource {

  /** Unique within the role, lower case with hyphens, e.g. {@code identity-provider}. */
  String name();

  /** Names of the resources that must run before this one starts and stop after it. */
  List<String> dependsOn();

  ResourcePolicy policy();

  /**
   * Starts the resource and returns once it is running.
   *
   * @param epoch the fencing epoch under which the node owns the role now
   * @throws Exception when it cannot start; the message becomes the recorded reason
   */
  void start(long epoch) throws Exception;

  /** Stops the resource; returns once it has stopped. Must be safe to call when not running. */
  void stop() throws Exception;

  /**
   * Ends by force whatever of the resource may still run after {@link #stop} failed or overran. The
   * controller calls it before it counts such a resource as stopped: only {@code true} lets the
   * node give the lease up or take it again. The default cannot know and says {@code false}.
   *
   * @return true when nothing the resource started can run any more
   */
  default boolean forceStop() {
    return false;
  }

  /**
   * Whether the resource starts only under a running dead man's switch ({@link DeadMansSwitch}),
   * because something of it outlives a paused or killed JVM (a generic resource's daemons, a
   * virtual IP address) and the switch must end it before another node can take the role.
   */
  default boolean needsDeadMansSwitch() {
    return false;
  }

  /**
   * Checks the running resource.
   *
   * @return null when healthy, otherwise a short description of what is wrong
   */
  String check() throws Exception;
}
