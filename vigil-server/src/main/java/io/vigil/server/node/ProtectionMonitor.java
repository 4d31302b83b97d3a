package io.vigil.server.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.http.Json;
import io.vigil.server.protect.CertificateStore;
import io.vigil.server.protect.DataProtector;
import io.vigil.server.protect.KeyRing;
import io.vigil.server.protect.ProtectionCheck;
import io.vigil.server.protect.ProtectionException;
import io.vigil.server.protect.ProtectionReport;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's data protection as it runs: the key ring when this node can open it, and otherwise the
 * reason it cannot, which keeps the node up as a standby that is not eligible for the role instead
 * of letting it crash-loop under its service manager.
 *
 * <p>It checks at start and then every {@link #RECHECK_INELIGIBLE} while the ring cannot be opened
 * (a certificate imported, or keys re-wrapped by the node that wrapped them, make it eligible
 * without a restart), every {@link #RECHECK} otherwise. Each check is published in {@code
 * cluster_node_checks} for {@code vigil cluster validate}, and each change of eligibility is logged
 * once and written to the cluster history.
 *
 * <p>As a {@link DataProtector} it forwards to the ring; before the ring opens, every use fails
 * with the reason. Once open, the ring is kept: a later failed check (say, the certificate expired
 * while the node runs) makes the node ineligible to take the role again but does not take the ring
 * away from resources already running.
 */
final class ProtectionMonitor implements DataProtector, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ProtectionMonitor.class);

  static final Duration RECHECK_INELIGIBLE = Duration.ofSeconds(10);
  static final Duration RECHECK = Duration.ofSeconds(60);

  private final Settings settings;
  private final Database database;
  private final Clock clock;
  private final CertificateStore store;
  private final String me;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "vigil-protection-check");
            t.setDaemon(true);
            return t;
          });

  private final MultiGauge expiry;
  private volatile KeyRing ring;
  private volatile ProtectionReport report;
  private volatile List<String> loggedWarnings = List.of();

  private ProtectionMonitor(
      Settings settings,
      Database database,
      Clock clock,
      CertificateStore store,
      String me,
      MeterRegistry metrics) {
    this.settings = settings;
    this.database = database;
    this.clock = clock;
    this.store = store;
    this.me = me;
    this.expiry =
        MultiGauge.builder("vigil.certificate.expiry.days")
            .description(
                "Days until each configured certificate expires (data protection, older, TLS);"
                    + " renew within 30")
            .register(metrics);
    Gauge.builder("vigil.node.eligible", this, m -> m.eligible() ? 1 : 0)
        .description("1 when this node can take the role (its data protection is usable), else 0")
        .register(metrics);
  }

  /** Checks once (before returning) and schedules the next checks. */
  static ProtectionMonitor start(
      Settings settings,
      Database database,
      Clock clock,
      CertificateStore store,
      String me,
      MeterRegistry metrics) {
    ProtectionMonitor m = new ProtectionMonitor(settings, database, clock, store, me, metrics);
    m.check(true);
    m.schedule();
    return m;
  }

  @SuppressWarnings("FutureReturnValueIgnored") // the task catches and logs its own failures
  private void schedule() {
    Duration next = eligible() ? RECHECK : RECHECK_INELIGIBLE;
    try {
      timer.schedule(
          () -> {
            try {
              check(false);
            } catch (RuntimeException e) {
              log.warn("Data protection check failed: {}", e.toString());
            } finally {
              schedule();
            }
          },
          next.toMillis(),
          TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // Closed.
    }
  }

  /** Runs a check now, publishes it, and adopts the ring if it opened for the first time. */
  synchronized void check(boolean first) {
    ProtectionCheck.Result result = ProtectionCheck.run(settings, database, clock, store);
    ProtectionReport previous = report;
    if (ring == null && result.ring().isPresent()) {
      ring = result.ring().get();
      // Once, when adopted: the periodic checks open a ring too, and must not log each time.
      log.info("Data protection: {}", ring.describeCurrent());
    }
    report = result.report();
    boolean wasEligible = previous != null && previous.usable();
    if (!report.usable()
        && (first || wasEligible || !Objects.equals(previous.problem(), report.problem()))) {
      log.error("{}", report.problem());
      history("ineligible", report.problem());
    } else if (report.usable() && previous != null && !wasEligible) {
      log.info("Data protection is usable on node {} now; it is eligible for the role again", me);
      history("eligible", "data protection is usable: keys are wrapped by " + report.protector());
    }
    if (!report.warnings().equals(loggedWarnings)) {
      report.warnings().forEach(w -> log.warn("{}", w));
      loggedWarnings = report.warnings();
    }
    expiry.register(
        report.certificates().stream()
            .filter(c -> c.daysLeft() != null)
            .map(
                c ->
                    MultiGauge.Row.of(
                        Tags.of("use", c.use(), "thumbprint", c.thumbprint()), c.daysLeft()))
            .toList(),
        true);
    publish();
  }

  /** Whether this node may take the role: its last check opened the key ring. */
  boolean eligible() {
    ProtectionReport r = report;
    return r != null && r.usable();
  }

  /** Why this node may not take the role, when it may not. */
  Optional<String> problem() {
    ProtectionReport r = report;
    return r == null || r.usable() ? Optional.empty() : Optional.of(r.problem());
  }

  ProtectionReport report() {
    return report;
  }

  @Override
  public byte[] protect(String purpose, byte[] plaintext) {
    return ring().protect(purpose, plaintext);
  }

  @Override
  public byte[] unprotect(String purpose, byte[] protectedData) {
    return ring().unprotect(purpose, protectedData);
  }

  private KeyRing ring() {
    KeyRing r = ring;
    if (r == null) {
      throw new ProtectionException(
          problem().orElse("Data protection has not been checked on this node yet."));
    }
    return r;
  }

  private void publish() {
    String json;
    try {
      json = Json.MAPPER.writeValueAsString(report);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    try {
      database
          .jdbi()
          .useHandle(
              h -> {
                int n =
                    h.createUpdate(
                            "UPDATE cluster_node_checks SET checked_at = CURRENT_TIMESTAMP,"
                                + " eligible = :e, problem = :p, report = :r WHERE node = :n")
                        .bind("e", report.usable())
                        .bind("p", report.problem())
                        .bind("r", json)
                        .bind("n", me)
                        .execute();
                if (n == 0) {
                  h.createUpdate(
                          "INSERT INTO cluster_node_checks (node, checked_at, eligible, problem,"
                              + " report) VALUES (:n, CURRENT_TIMESTAMP, :e, :p, :r)")
                      .bind("e", report.usable())
                      .bind("p", report.problem())
                      .bind("r", json)
                      .bind("n", me)
                      .execute();
                }
              });
    } catch (RuntimeException e) {
      log.warn("Could not publish this node's data protection check: {}", e.getMessage());
    }
  }

  private void history(String event, String reason) {
    try {
      database
          .jdbi()
          .useHandle(
              h ->
                  h.createUpdate(
                          "INSERT INTO cluster_history (node, event, reason) VALUES (:n, :e, :r)")
                      .bind("n", me)
                      .bind("e", event)
                      .bind("r", reason)
                      .execute());
    } catch (RuntimeException e) {
      log.warn("Could not record {} in the cluster history: {}", event, e.getMessage());
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
