package io.vigil.server.testing.chaos;

/**
 * One client operation of a chaos run, as the client saw it.
 *
 * @param kind what it was
 * @param key the object it wrote (a write), or the refresh token it redeemed (a refresh)
 * @param startNanos when it was sent, on the test's monotonic clock
 * @param endNanos when its answer came, or when the client gave up
 * @param outcome what the answer said
 * @param epoch the epoch the node reported the write committed under ({@code Vigil-Epoch}), or null
 * @param detail the answer's status and error code, for the report
 */
public record Op(
    Kind kind,
    String key,
    long startNanos,
    long endNanos,
    Outcome outcome,
    Long epoch,
    String detail) {

  public enum Kind {
    WRITE,
    REFRESH
  }

  public enum Outcome {
    /** Acknowledged: it happened. */
    OK,
    /** Refused: it did not happen (a 307, a 503, a refused connection). */
    FAIL,
    /** No answer (a timeout, a connection cut mid-request): it may or may not have happened. */
    UNKNOWN,
    /** The session was ended: a refresh the identity provider rejected as invalid. */
    SESSION_LOST
  }
}
