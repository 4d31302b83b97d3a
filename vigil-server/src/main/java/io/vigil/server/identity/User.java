package io.vigil.server.identity;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * A user as the API shows it; never carries the password hash.
 *
 * @param roles the roles an administrator gave directly; claim rules never change them
 * @param provider the external identity provider that signs this user in, or null for a user with a
 *     Vigil password
 * @param ruleGrants the roles claim rules granted at the user's last external sign-in
 */
public record User(
    UUID id,
    String username,
    String displayName,
    List<String> roles,
    boolean enabled,
    long version,
    Instant createdAt,
    Instant updatedAt,
    String provider,
    @JsonIgnore List<RuleGrant> ruleGrants) {

  /**
   * A role granted by the claim rule {@code ruleId} because claim {@code claim} was {@code value}.
   */
  public record RuleGrant(UUID ruleId, String role, String claim, String value) {}

  /**
   * One of the user's effective roles and where it comes from.
   *
   * @param source {@code "direct"} (given by an administrator) or {@code "rule"}
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record RoleSource(String role, String source, UUID ruleId, String claim, String value) {}

  public User {
    roles = List.copyOf(roles);
    ruleGrants = List.copyOf(ruleGrants);
  }

  /** A user with a Vigil password and no rule-granted roles. */
  public User(
      UUID id,
      String username,
      String displayName,
      List<String> roles,
      boolean enabled,
      long version,
      Instant createdAt,
      Instant updatedAt) {
    this(id, username, displayName, roles, enabled, version, createdAt, updatedAt, null, List.of());
  }

  /** The roles the user holds, directly or by rule: what its tokens carry. */
  @JsonProperty("effectiveRoles")
  public List<String> effectiveRoles() {
    Set<String> all = new LinkedHashSet<>(roles);
    ruleGrants.forEach(g -> all.add(g.role()));
    return List.copyOf(all);
  }

  /** Every role with its source; a role both given and granted appears once per source. */
  @JsonProperty("roleSources")
  public List<RoleSource> roleSources() {
    List<RoleSource> sources = new ArrayList<>();
    roles.forEach(r -> sources.add(new RoleSource(r, "direct", null, null, null)));
    ruleGrants.forEach(
        g -> sources.add(new RoleSource(g.role(), "rule", g.ruleId(), g.claim(), g.value())));
    return sources;
  }

  User withGrants(List<RuleGrant> grants) {
    return new User(
        id, username, displayName, roles, enabled, version, createdAt, updatedAt, provider, grants);
  }
}
