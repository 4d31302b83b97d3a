package io.vigil.server.cluster;

import java.util.regex.Pattern;

/**
 * How a command's output appears in the messages the cluster keeps (a resource's last problem, a
 * failed role's reason, the history): between {@value #OPEN} and {@value #CLOSE}, so that it can be
 * told apart from the rest of the message and {@linkplain #hide hidden} from callers who may read
 * the cluster but not change it. Output can hold whatever a command printed, secrets among it; the
 * rest of a message (which command, its exit code, the time it overran) is Vigil's own.
 */
public final class CommandOutput {

  static final String OPEN = "«";
  static final String CLOSE = "»";

  /** What a reader without {@code CLUSTER_WRITE} sees in place of each output. */
  public static final String HIDDEN =
      OPEN + "output hidden: needs the cluster-write permission" + CLOSE;

  /** An output, or the start of one whose end was cut off: it is hidden to the end. */
  private static final Pattern QUOTED =
      Pattern.compile(OPEN + "[^" + CLOSE + "]*(" + CLOSE + "|$)");

  private CommandOutput() {}

  /**
   * {@code output} quoted for a message; the markers inside it are replaced so it stays one piece.
   */
  static String quote(String output) {
    return OPEN + output.replace(OPEN, "\"").replace(CLOSE, "\"") + CLOSE;
  }

  /** {@code message} with every quoted output replaced by {@link #HIDDEN}; null stays null. */
  public static String hide(String message) {
    return message == null ? null : QUOTED.matcher(message).replaceAll(HIDDEN);
  }
}
