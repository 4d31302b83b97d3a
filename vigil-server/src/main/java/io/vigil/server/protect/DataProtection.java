package io.vigil.server.protect;

import io.vigil.server.config.ConfigException;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;

/**
 * Builds a node's {@link KeyRing} from its settings: the machine protector from {@code
 * DataProtectionSettings.MachineKeyFile} (or the platform default, see {@link
 * MachineProtector#defaultKeyFile}) and the key lifetime from {@code
 * DataProtectionSettings.KeyLifetimeDays}.
 */
public final class DataProtection {

  private DataProtection() {}

  /** {@link #open(Settings, Database, Clock)} with the database's clock. */
  public static KeyRing open(Settings settings, Database database) {
    return open(settings, database, new DatabaseClock(database, ZoneOffset.UTC));
  }

  /**
   * Opens the node's key ring and checks, before returning, that this node can unwrap every key in
   * it, creating the first key if the ring is empty. Fails fast rather than when a secret is first
   * needed.
   *
   * @throws ConfigException when a setting is invalid
   * @throws ProtectionException when the machine key file cannot be read or created, or a key of
   *     the ring was wrapped by a protector this node does not have (the message names the key,
   *     both protectors and the fix)
   */
  public static KeyRing open(Settings settings, Database database, Clock clock) {
    Settings.DataProtectionSection section = settings.dataProtection;
    String thumbprint = section.protectKeysWithCertificate.thumbprint;
    if (thumbprint != null && !thumbprint.isBlank()) {
      // Ignoring the setting would leave keys machine-bound while the operator believes otherwise.
      throw new ConfigException(
          "DataProtectionSettings.ProtectKeysWithCertificate.Thumbprint is set to "
              + thumbprint
              + ", but this version of Vigil protects keys only with the machine key file."
              + " Remove the setting, or run a version that supports certificate protection.");
    }
    if (section.keyLifetimeDays < KeyRing.MIN_LIFETIME.toDays()) {
      throw new ConfigException(
          "DataProtectionSettings.KeyLifetimeDays is "
              + section.keyLifetimeDays
              + "; it must be at least "
              + KeyRing.MIN_LIFETIME.toDays()
              + " (default 90), since a key's successor is made "
              + KeyRing.ROTATION_LEAD.toDays()
              + " days before it expires.");
    }
    MachineProtector machine = MachineProtector.open(machineKeyFile(settings));
    KeyRing ring =
        new KeyRing(
            database.jdbi(), machine, List.of(), Duration.ofDays(section.keyLifetimeDays), clock);
    ring.checkUsable();
    return ring;
  }

  /**
   * The machine key file for these settings: {@code MachineKeyFile} (relative paths resolved
   * against the data directory), else the platform default for the account running the node.
   */
  public static Path machineKeyFile(Settings settings) {
    String configured = settings.dataProtection.machineKeyFile;
    if (configured == null || configured.isBlank()) {
      return MachineProtector.defaultKeyFile(
          System.getenv(), System.getProperty("os.name"), Path.of(System.getProperty("user.home")));
    }
    Path path = Path.of(configured);
    if (!path.isAbsolute() && settings.dataDir != null) {
      path = settings.dataDir.resolve(path);
    }
    return path.toAbsolutePath().normalize();
  }

  /** Reads the time from the database, which every node agrees on, instead of this machine. */
  private static final class DatabaseClock extends Clock {
    private final Database database;
    private final ZoneId zone;

    DatabaseClock(Database database, ZoneId zone) {
      this.database = database;
      this.zone = zone;
    }

    @Override
    public ZoneId getZone() {
      return zone;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return new DatabaseClock(database, zone);
    }

    @Override
    public Instant instant() {
      return database.now();
    }
  }
}
