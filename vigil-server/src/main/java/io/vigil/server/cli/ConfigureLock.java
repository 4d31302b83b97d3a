package io.vigil.server.cli;

import io.vigil.server.config.OwnerOnlyFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * One {@code vigil configure} at a time on a machine: an exclusive lock ({@link
 * FileChannel#tryLock()}) on {@code configure.lock} in the configurator's state folder, holding the
 * holder's process id. The operating system releases the lock when the process ends, however it
 * ends, so a crashed configurator never leaves a stale lock; the file itself stays.
 */
final class ConfigureLock implements AutoCloseable {

  static final String FILE_NAME = "configure.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private ConfigureLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock in {@code dir} (created owner-only when missing).
   *
   * @throws CliException exit code {@link ExitCodes#ALREADY_RUNNING} when another instance holds
   *     it, naming its process id when the file tells
   */
  static ConfigureLock acquire(Path dir) {
    Path file = dir.resolve(FILE_NAME);
    FileChannel channel;
    try {
      OwnerOnlyFiles.createDirectories(dir);
      channel =
          FileChannel.open(
              file,
              java.util.Set.of(
                  StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE),
              OwnerOnlyFiles.fileAttribute(dir));
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "lock_unavailable",
          "Cannot open the lock file " + file + ": " + e.getMessage() + ".");
    }
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // held by this very process (another command in the same JVM)
    } catch (IOException e) {
      close(channel);
      throw new CliException(
          ExitCodes.ERROR, "lock_unavailable", "Cannot lock " + file + ": " + e.getMessage() + ".");
    }
    if (lock == null) {
      Optional<Long> holder = holder(file);
      close(channel);
      throw new CliException(
          ExitCodes.ALREADY_RUNNING,
          "already_running",
          "Another vigil configure is running on this machine"
              + holder.map(pid -> " (process " + pid + ")").orElse("")
              + ", holding "
              + file
              + ": wait for it to finish, then run this command again.");
    }
    try {
      channel.truncate(0);
      channel.write(
          ByteBuffer.wrap(
              (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)),
          0);
      channel.force(false);
    } catch (IOException e) {
      // The lock holds without the process id; a second instance then names no process.
    }
    return new ConfigureLock(channel, lock);
  }

  /** The process id written in the lock file, when it holds one. */
  static Optional<Long> holder(Path file) {
    try {
      String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
      return text.matches("[0-9]{1,19}") ? Optional.of(Long.parseLong(text)) : Optional.empty();
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      // Closing the channel below releases it too.
    }
    close(channel);
  }

  private static void close(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // Nothing is left to release.
    }
  }
}
