package io.vigil.server.management;

import io.vigil.client.ServerStatus;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import io.vigil.server.security.Permission;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;

/**
 * Who may change a registered server and what is on it. Users (and clients of other roles) with the
 * route's permission may change any server. A component — a client acting for itself whose only
 * write access comes from the {@code component} role — is held to the server it registered: it may
 * update, unregister and heartbeat that server and manage the hardware and cameras on it, but no
 * other, and it never sets the {@code disabled} status, which is an operator's decision.
 *
 * <p>A server's registrant is recorded when it is registered and never changes. Servers registered
 * by a user, or before registrants were recorded, have none and are no component's.
 *
 * <p>The same holds for events: a component posts events only about its own server and the hardware
 * and cameras on it ({@link #checkEventSource}).
 *
 * <p>Decides only, from the caller and the server as read in the transaction that writes. A
 * registrant never changes after registration, so the check holds for the whole transaction.
 */
public final class ServerOwnership {

  private ServerOwnership() {}

  /** Whether the caller is held to its own server. */
  public static boolean isComponent(Principal caller) {
    return caller.actsForItself()
        && caller.roles().contains(Role.COMPONENT)
        && caller.roles().stream()
            .filter(r -> r != Role.COMPONENT)
            .noneMatch(r -> r.permissions().contains(Permission.SERVERS_WRITE));
  }

  /** The client id to record as the registrant of a server the caller registers, or null. */
  static String registrant(Principal caller) {
    return isComponent(caller) ? caller.clientId() : null;
  }

  /**
   * Checks that the caller may change, unregister or heartbeat {@code server}, or add, change or
   * remove hardware and cameras on it.
   *
   * @throws ApiException 403 {@code not_your_server} when a component calls about a server it did
   *     not register
   */
  static void checkChange(Principal caller, Server server) {
    if (isComponent(caller) && !caller.clientId().equals(server.registeredBy())) {
      throw new ApiException(
          403,
          "not_your_server",
          "Server \""
              + server.id()
              + "\" was registered by another client or by an operator; a component may change"
              + " only the server it registered and the hardware and cameras on it. Ask an"
              + " operator to make this change.");
    }
  }

  /**
   * Checks that the caller may set {@code server}'s status to {@code requested} (null: unchanged).
   *
   * @throws ApiException 403 {@code disabled_status_reserved} when a component would disable a
   *     server or set the status of a disabled one
   */
  static void checkStatusChange(Principal caller, Server server, ServerStatus requested) {
    if (requested == null || !isComponent(caller)) {
      return;
    }
    boolean disabled = ServerStatus.DISABLED.id().equals(server.status());
    if (requested == ServerStatus.DISABLED || disabled) {
      throw new ApiException(
          403,
          "disabled_status_reserved",
          "Server \""
              + server.id()
              + "\" "
              + (disabled ? "was disabled by an operator" : "cannot be disabled by a component")
              + ": only an operator may disable or re-enable a server. Leave \"status\" out of the"
              + " change.");
    }
  }

  /**
   * Checks that the caller may post an event about {@code source}.
   *
   * @param registrant the client that registered the server {@code source} is or is on; null when a
   *     user registered it, or when {@code source} is no registered object (a named external
   *     source), which no component may speak for
   * @throws ApiException 403 {@code not_your_server} when a component posts about another's object
   */
  public static void checkEventSource(Principal caller, String source, String registrant) {
    if (isComponent(caller) && !caller.clientId().equals(registrant)) {
      throw new ApiException(
          403,
          "not_your_server",
          "Source \""
              + Text.excerpt(source)
              + "\" is not your server or a device on it; a component may post events only about"
              + " the server it registered and the hardware and cameras on it. Post from that"
              + " server's component, or as an operator.");
    }
  }
}
