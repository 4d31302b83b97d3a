package io.vigil.server.collector;

import java.util.Map;
import org.jdbi.v3.core.Handle;

/**
 * Where Vigil's own events go ({@code server.offline}, {@code server.online}, …). An event is
 * raised inside the transaction that made the change it reports, so that the two commit together or
 * not at all. The event server stores them ({@code EventStore.siteEvents()}).
 */
@FunctionalInterface
public interface SiteEvents {

  /**
   * Raises an event in {@code h}'s transaction.
   *
   * @param type a dotted name such as {@code server.offline}
   * @param source the id of the object the event is about
   * @param severity {@code info}, {@code warning} or {@code critical}
   * @param message what happened, for an operator
   * @param data further figures, written as a JSON object
   */
  void raise(
      Handle h,
      String type,
      String source,
      String severity,
      String message,
      Map<String, Object> data);
}
