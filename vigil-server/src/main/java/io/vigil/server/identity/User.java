package io.vigil.server.identity;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** A user as the API shows it; never carries the password hash. */
public record User(
    UUID id,
    String username,
    String displayName,
    List<String> roles,
    boolean enabled,
    long version,
    Instant createdAt,
    Instant updatedAt) {

  public User {
    roles = List.copyOf(roles);
  }
}
