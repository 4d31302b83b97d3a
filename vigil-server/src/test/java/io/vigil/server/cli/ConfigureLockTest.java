package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigureLockTest {

  @TempDir Path dir;

  /** Run in a child JVM: takes the lock in {@code args[0]}, says so, holds it until stdin ends. */
  public static void main(String[] args) throws Exception {
    try (ConfigureLock lock = ConfigureLock.acquire(Path.of(args[0]))) {
      System.out.println("locked " + (lock != null));
      System.out.flush();
      System.in.readAllBytes();
    }
  }

  @Test
  @SuppressWarnings("try") // the lock is held for the body, not used in it
  void aSecondProcessIsRefusedWithItsOwnCodeNamingTheHoldersProcess() throws Exception {
    Process holder =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                ConfigureLockTest.class.getName(),
                dir.toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    try {
      BufferedReader out =
          new BufferedReader(
              new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
      assertThat(out.readLine()).isEqualTo("locked true");

      assertThatThrownBy(() -> ConfigureLock.acquire(dir))
          .isInstanceOfSatisfying(
              CliException.class,
              e -> {
                assertThat(e.exitCode()).isEqualTo(ExitCodes.ALREADY_RUNNING);
                assertThat(e.getMessage()).contains("process " + holder.pid());
              });
    } finally {
      holder.getOutputStream().close();
      assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }

    // The holder ended: the lock is free again, and the file now names this process.
    try (ConfigureLock again = ConfigureLock.acquire(dir)) {
      assertThat(ConfigureLock.holder(dir.resolve(ConfigureLock.FILE_NAME)))
          .contains(ProcessHandle.current().pid());
    }
  }

  @Test
  void theLockFileIsOwnerOnly() throws Exception {
    try (ConfigureLock lock = ConfigureLock.acquire(dir.resolve("state"))) {
      assertThat(
              java.nio.file.attribute.PosixFilePermissions.toString(
                  Files.getPosixFilePermissions(
                      dir.resolve("state").resolve(ConfigureLock.FILE_NAME))))
          .isEqualTo("rw-------");
      assertThat(lock).isNotNull();
    }
  }
}
