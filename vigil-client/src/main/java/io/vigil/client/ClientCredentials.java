package io.vigil.client;

import java.util.Objects;

/**
 * A component's OAuth client: its client id and secret, as its registration returned them. The
 * client gets access tokens with them (client-credentials grant) and renews each before it expires.
 */
public record ClientCredentials(String clientId, String secret) {

  public ClientCredentials {
    Objects.requireNonNull(clientId, "clientId");
    Objects.requireNonNull(secret, "secret");
  }

  /** Never shows the secret. */
  @Override
  public String toString() {
    return "ClientCredentials[clientId=" + clientId + "]";
  }
}
