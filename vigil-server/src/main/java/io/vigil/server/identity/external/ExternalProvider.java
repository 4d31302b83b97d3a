package io.vigil.server.identity.external;

import java.time.Instant;
import java.util.List;

/**
 * An external OpenID Connect provider as the API shows it. The client secret is write-only: only
 * whether one is set is shown.
 *
 * @param name unique, lower case, used in URLs; never changes
 * @param authority the issuer URL; its metadata is at {@code
 *     <authority>/.well-known/openid-configuration}
 * @param clientAuthentication {@code client_secret_basic}, {@code client_secret_post} or {@code
 *     private_key_jwt}
 * @param certificateThumbprint for {@code private_key_jwt}: the SHA-1 thumbprint of the certificate
 *     in the node's personal store whose key signs the client assertion
 * @param callbackPath where the provider sends the browser back, on this node's origin
 * @param redirectUri the full callback URL to register at the provider
 * @param promptForLogin whether sign-ins send {@code prompt=login}, so the provider always asks
 */
public record ExternalProvider(
    String name,
    String displayName,
    String authority,
    String clientId,
    String clientAuthentication,
    boolean clientSecretSet,
    String certificateThumbprint,
    String callbackPath,
    String redirectUri,
    List<String> scopes,
    String userNameClaim,
    boolean promptForLogin,
    boolean enabled,
    long revision,
    Instant createdAt,
    Instant updatedAt) {

  public static final String CLIENT_SECRET_BASIC = "client_secret_basic";
  public static final String CLIENT_SECRET_POST = "client_secret_post";
  public static final String PRIVATE_KEY_JWT = "private_key_jwt";
  public static final List<String> CLIENT_AUTHENTICATIONS =
      List.of(CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, PRIVATE_KEY_JWT);

  public ExternalProvider {
    scopes = List.copyOf(scopes);
  }

  boolean usesSecret() {
    return !PRIVATE_KEY_JWT.equals(clientAuthentication);
  }
}
