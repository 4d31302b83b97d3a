package io.vigil.server.cluster;

/**
 * The fencing epoch of the role: grows by one at every change of owner. The lease starts at {@link
 * #NONE}, which no owner ever holds. Its text is the number.
 */
public record Epoch(long value) implements Comparable<Epoch> {

  public static final Epoch NONE = new Epoch(0);

  /** The epoch the next owner takes. */
  public Epoch next() {
    return new Epoch(value + 1);
  }

  @Override
  public int compareTo(Epoch o) {
    return Long.compare(value, o.value);
  }

  @Override
  public String toString() {
    return Long.toString(value);
  }
}
