package io.vigil.server.db;

/** The database cannot be used; the message says which and what to check. */
public final class DatabaseException extends RuntimeException {
  public DatabaseException(String message, Throwable cause) {
    super(message, cause);
  }
}
