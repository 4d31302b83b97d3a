package io.vigil.client;

/**
 * Where a {@link VigilClient} gets the bearer token of its calls, when it is not a component's own
 * OAuth client ({@link VigilClient.Builder#credentials}): an operator's stored refresh token, the
 * password grant with a one-time code, a device sign-in. The source gets its tokens from the
 * management server through the client it is given, with an unauthenticated {@link
 * VigilClient#send} to the token endpoint, so a token request follows the same failover rules as
 * any other call.
 *
 * <p>The client calls {@link #token} before each authenticated call, from any thread: cache the
 * token. A token the API refuses (401) is handed to {@link #invalidate}; when that returns true the
 * call is sent once more with the next {@link #token}, else the 401 is the call's answer.
 */
public interface TokenSource {

  /**
   * A bearer token for the next call. May throw any unchecked exception (such as a {@link
   * VigilException} when the token endpoint refused the grant); the call then fails with it.
   *
   * @param client the client asking, for {@link VigilClient#send} of the token request
   */
  String token(VigilClient client);

  /**
   * Forgets {@code refused}, a token the API answered with 401.
   *
   * @return whether a fresh token can be had without asking anybody (the call is then sent once
   *     more); false by default
   */
  default boolean invalidate(String refused) {
    return false;
  }
}
