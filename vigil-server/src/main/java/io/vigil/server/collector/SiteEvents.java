package io.vigil.server.collector;

import io.vigil.server.audit.AuditLog;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where Vigil's own events go ({@code server.offline}, {@code server.online}, …). An event is
 * raised inside the transaction that made the change it reports, so that the two commit together or
 * not at all.
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

  /**
   * Until the event server stores events, each event is written to the audit log (action: the
   * event's type, object type {@code event}, object id: the source) and logged.
   */
  static SiteEvents audited() {
    Logger log = LoggerFactory.getLogger(SiteEvents.class);
    return (h, type, source, severity, message, data) -> {
      Map<String, Object> details = new LinkedHashMap<>();
      details.put("severity", severity);
      details.put("message", message);
      details.put("data", data);
      AuditLog.recordEvent(h, "data-collector", "-", null, type, "event", source, details);
      log.info("{} ({}): {}", type, severity, message);
    };
  }
}
