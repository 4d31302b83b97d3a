package io.vigil.server.testing.lab;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A {@link Lab} for a JUnit 5 test class: built before the first test, torn down after the last,
 * whether the tests pass or fail.
 *
 * <pre>{@code
 * class MyIT {
 *   @RegisterExtension static final LabExtension lab = new LabExtension().withPostgres();
 *
 *   @Test
 *   void something() {
 *     Host a = lab.get().host("node-a");
 *     ...
 *   }
 * }
 * }</pre>
 *
 * <p>Registered in a static field, the tests of the class share one lab (hosts persist from test to
 * test); in an instance field, every test gets a fresh lab. Where labs cannot be built ({@link
 * Lab#unavailableReason()}: not root, no {@code ip netns}, …) the tests are skipped with that
 * reason. Under {@code CI=true} they fail instead: CI runs as root and must never pass without
 * running them.
 */
public final class LabExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {

  private boolean postgres;
  private Lab lab;
  private boolean perClass;

  /** Also requires PostgreSQL's server programs, for {@link LabPostgres}. */
  public LabExtension withPostgres() {
    postgres = true;
    return this;
  }

  /** The lab of the running test. */
  public Lab get() {
    if (lab == null) {
      throw new IllegalStateException("No lab: register the extension with @RegisterExtension");
    }
    return lab;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    perClass = true;
    open();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (!perClass) {
      open();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (!perClass) {
      close();
    }
  }

  private void open() {
    requireAvailable(postgres ? LabPostgres.unavailableReason() : Lab.unavailableReason());
    lab = Lab.create();
  }

  private void close() {
    Lab l = lab;
    lab = null;
    if (l != null) {
      l.close();
    }
  }

  /**
   * Skips the test when {@code reason} is not null, or fails it under {@code CI=true}.
   *
   * @param reason why labs cannot run here, or null
   */
  public static void requireAvailable(String reason) {
    if (reason == null) {
      return;
    }
    if ("true".equals(System.getenv("CI"))) {
      throw new IllegalStateException(
          "CI=true, but the lab tests cannot run: " + reason + " (CI must run them as root)");
    }
    Assumptions.abort("Lab tests skipped: " + reason);
  }
}
