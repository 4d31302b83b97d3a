package io.vigil.server.http;

import io.vigil.server.security.Principal;

/** Turns a bearer token into the caller it was issued to. */
public interface Authenticator {

  /**
   * @param bearerToken the token from the {@code Authorization: Bearer} header
   * @return the caller
   * @throws ApiException 401 when the token is missing, malformed, expired, tampered with or not
   *     issued for this API
   */
  Principal authenticate(String bearerToken);
}
