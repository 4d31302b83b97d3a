package io.vigil.server.security;

import java.util.EnumSet;
import java.util.Set;

/**
 * The authenticated caller of a request, taken from a verified access token.
 *
 * @param subject the token's subject: a user id, or the client id for client credentials
 * @param name a readable name for the audit log: the user name or the client id
 * @param clientId the OAuth client the token was issued to
 * @param roles the caller's roles
 * @param scopes the granted scopes
 */
public record Principal(
    String subject, String name, String clientId, Set<Role> roles, Set<String> scopes) {

  public Principal {
    roles = Set.copyOf(roles);
    scopes = Set.copyOf(scopes);
  }

  /**
   * Whether the caller is a client acting for itself (client credentials), not a user signed in
   * through a client: such a token's subject is the client id, a user's is the user id.
   */
  public boolean actsForItself() {
    return subject.equals(clientId);
  }

  public boolean has(Permission permission) {
    return roles.stream().anyMatch(r -> r.permissions().contains(permission));
  }

  public Set<Permission> permissions() {
    Set<Permission> all = EnumSet.noneOf(Permission.class);
    roles.forEach(r -> all.addAll(r.permissions()));
    return all;
  }
}
