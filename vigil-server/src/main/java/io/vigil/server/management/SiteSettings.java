package io.vigil.server.management;

import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Sql;
import io.vigil.server.http.ApiException;
import io.vigil.server.security.Principal;
import java.sql.Types;
import java.time.Instant;
import java.util.Set;
import org.jdbi.v3.core.Handle;

/**
 * Site-wide settings, one object per site. The published management server address is the URL every
 * component and every node is told to use (the cluster URL, e.g. {@code http://MyCluster}); until
 * an operator sets it, components use whatever address they registered with.
 */
public final class SiteSettings {

  static final String TYPE = "site";
  private static final Set<String> SCHEMES = Set.of("http", "https");

  private final Fence fence;

  public SiteSettings(Fence fence) {
    this.fence = fence;
  }

  /**
   * The settings as the API shows them.
   *
   * @param requireMfaForAdministrators whether administrators who sign in with a Vigil password
   *     must have multi-factor sign-in; until they enrol, their tokens carry no roles
   */
  public record Site(
      String siteName,
      String managementServerAddress,
      boolean requireMfaForAdministrators,
      long revision,
      Instant updatedAt) {}

  /** A change; null leaves a field as it is, "" clears the management server address. */
  public record Change(
      String siteName, String managementServerAddress, Boolean requireMfaForAdministrators) {}

  public Site get() {
    return fence.read(SiteSettings::load);
  }

  public Site update(Principal actor, long expectedRevision, Change change) {
    String name = change.siteName() == null ? null : Validation.name("siteName", change.siteName());
    String address =
        change.managementServerAddress() == null || change.managementServerAddress().isBlank()
            ? null
            : Validation.address(
                "managementServerAddress", change.managementServerAddress(), SCHEMES);
    return fence.write(
        h -> {
          h.createQuery("SELECT id FROM site_settings WHERE id = 1 FOR UPDATE")
              .mapTo(Integer.class)
              .one();
          Site before = load(h);
          if (before.revision() != expectedRevision) {
            throw ApiException.conflict(
                "version_conflict",
                "The site settings were changed by someone else (your revision "
                    + expectedRevision
                    + ", current "
                    + before.revision()
                    + "). Read them again, reapply your change and send the new ETag in If-Match.");
          }
          StringBuilder sql = new StringBuilder("UPDATE site_settings SET ");
          if (name != null) {
            sql.append("site_name = :name, ");
          }
          if (change.managementServerAddress() != null) {
            sql.append("management_server_address = :address, ");
          }
          if (change.requireMfaForAdministrators() != null) {
            sql.append("require_mfa_for_administrators = :requireMfa, ");
          }
          sql.append("revision = revision + 1, updated_at = CURRENT_TIMESTAMP WHERE id = 1");
          var update = h.createUpdate(sql.toString());
          if (name != null) {
            update.bind("name", name);
          }
          if (change.managementServerAddress() != null) {
            if (address == null) {
              update.bindNull("address", Types.VARCHAR);
            } else {
              update.bind("address", address);
            }
          }
          if (change.requireMfaForAdministrators() != null) {
            update.bind("requireMfa", change.requireMfaForAdministrators().booleanValue());
          }
          update.execute();
          Site after = load(h);
          AuditLog.record(h, actor, "site.updated", TYPE, "site", before, after);
          return after;
        });
  }

  private static Site load(Handle h) {
    return h.createQuery("SELECT * FROM site_settings WHERE id = 1")
        .map(
            (rs, ctx) ->
                new Site(
                    rs.getString("site_name"),
                    rs.getString("management_server_address"),
                    rs.getBoolean("require_mfa_for_administrators"),
                    rs.getLong("revision"),
                    Sql.instant(rs.getTimestamp("updated_at"))))
        .one();
  }
}
