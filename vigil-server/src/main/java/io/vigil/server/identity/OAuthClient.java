package io.vigil.server.identity;

import java.time.Instant;
import java.util.List;

/**
 * An OAuth client as the API shows it; never carries the secret.
 *
 * @param type {@code public} (no secret: the CLI, the console) or {@code confidential}
 */
public record OAuthClient(
    String clientId,
    String type,
    List<String> roles,
    List<String> grants,
    List<String> redirectUris,
    long version,
    Instant createdAt) {

  public static final String PUBLIC = "public";
  public static final String CONFIDENTIAL = "confidential";

  public OAuthClient {
    roles = List.copyOf(roles);
    grants = List.copyOf(grants);
    redirectUris = List.copyOf(redirectUris);
  }

  public boolean allows(String grant) {
    return grants.contains(grant);
  }
}
