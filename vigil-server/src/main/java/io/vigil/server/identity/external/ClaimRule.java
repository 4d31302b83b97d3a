package io.vigil.server.identity.external;

import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import java.util.UUID;

/**
 * A rule that grants {@code role} to users of {@code provider} whose ID token has the claim {@code
 * claim} with the value {@code value} (for a list claim such as {@code groups}: one of its values).
 * Values compare exactly, case included.
 */
public record ClaimRule(
    UUID id, String provider, String claim, String value, String role, Instant createdAt) {

  /** Whether the ID token's claims satisfy this rule. */
  boolean matches(Map<String, Object> claims) {
    Object actual = claims.get(claim);
    if (actual instanceof Collection<?> values) {
      return values.stream().anyMatch(v -> v != null && value.equals(v.toString()));
    }
    return actual != null && !(actual instanceof Map) && value.equals(actual.toString());
  }
}
