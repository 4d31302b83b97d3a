package io.vigil.server.testing.lab;

import java.nio.file.Path;

/**
 * An unprivileged Unix account that lab programs can run as ({@link Host#runAs}, {@link
 * Host#startAs}): for PostgreSQL, which refuses to run as root, and for tests of file permissions.
 *
 * @param name the user name
 * @param uid its user id
 * @param gid its primary group id
 */
public record LabAccount(String name, int uid, int gid) {

  /** The system account the lab creates when it is missing, shared by every lab of the machine. */
  public static final String DEFAULT_NAME = "vigil-lab";

  /**
   * The account {@value #DEFAULT_NAME}, created as a system user without a login shell or home when
   * it does not exist yet (which changes {@code /etc/passwd} of the real machine once).
   *
   * @throws LabException when it can neither be found nor created
   */
  public static synchronized LabAccount system() {
    ExecResult found = Commands.run("getent", "passwd", DEFAULT_NAME);
    if (!found.ok()) {
      ExecResult added =
          Commands.run(
              Commands.tool("useradd", "passwd"),
              "--system",
              "--user-group",
              "--no-create-home",
              "--home-dir",
              "/nonexistent",
              "--shell",
              "/usr/sbin/nologin",
              DEFAULT_NAME);
      // 9: another JVM created it a moment ago.
      if (!added.ok() && added.exitCode() != 9) {
        added.orThrow();
      }
      found = Commands.run("getent", "passwd", DEFAULT_NAME).orThrow();
    }
    String[] fields = found.stdout().strip().split(":");
    return new LabAccount(DEFAULT_NAME, Integer.parseInt(fields[2]), Integer.parseInt(fields[3]));
  }

  /** Makes this account the owner of {@code path} and everything below it. */
  public void chown(Path path) {
    Commands.check("chown", "-R", uid + ":" + gid, path.toString());
  }
}
