package io.vigil.server.node;

import io.vigil.server.cluster.Fence;
import io.vigil.server.collector.SiteEvents;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Raises {@code certificate.expiring} when the HTTPS certificate of the node that owns the role
 * expires within {@link #WARNING} by the database's clock (or has expired), so that an alarm
 * definition can remind operators to renew it. The event server's resource runs {@link #check} once
 * a day on the owner, so the reminder repeats daily until the certificate is renewed. A node
 * without HTTPS has nothing to check.
 */
final class CertificateWatch {

  static final String EXPIRING = "certificate.expiring";
  static final Duration WARNING = Duration.ofDays(30);

  private final Fence fence;
  private final SiteEvents events;
  private final String node;
  private final Supplier<Optional<Instant>> notAfter;

  /**
   * @param notAfter when the certificate served now expires; empty without HTTPS
   */
  CertificateWatch(
      Fence fence, SiteEvents events, String node, Supplier<Optional<Instant>> notAfter) {
    this.fence = fence;
    this.events = events;
    this.node = node;
    this.notAfter = notAfter;
  }

  /** Whether a certificate valid until {@code notAfter} is to be renewed at {@code now}. */
  static boolean expiring(Instant notAfter, Instant now) {
    return now.plus(WARNING).isAfter(notAfter);
  }

  /**
   * Checks once.
   *
   * @return whether it raised the event
   */
  boolean check() {
    Optional<Instant> until = notAfter.get();
    if (until.isEmpty()) {
      return false;
    }
    Instant expires = until.get();
    return fence.write(
        h -> {
          Instant now =
              h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant();
          if (!expiring(expires, now)) {
            return false;
          }
          boolean expired = !now.isBefore(expires);
          long daysLeft = Duration.between(now, expires).toDays();
          Map<String, Object> data = new LinkedHashMap<>();
          data.put("node", node);
          data.put("notAfter", expires.toString());
          data.put("daysLeft", daysLeft);
          events.raise(
              h,
              EXPIRING,
              "node:" + node,
              expired ? "critical" : "warning",
              expired
                  ? "The HTTPS certificate of " + node + " expired on " + expires
                  : "The HTTPS certificate of "
                      + node
                      + " expires on "
                      + expires
                      + " ("
                      + daysLeft
                      + " days): import its renewal and point Http.Tls.Thumbprint at it",
              data);
          return true;
        });
  }
}
