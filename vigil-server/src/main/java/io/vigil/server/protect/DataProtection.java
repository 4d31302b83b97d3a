package io.vigil.server.protect;

import io.vigil.server.config.ConfigException;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a node's {@link KeyRing} from its settings: the machine protector from {@code
 * DataProtectionSettings.MachineKeyFile} (or the platform default, see {@link
 * MachineProtector#defaultKeyFile}) and the key lifetime from {@code
 * DataProtectionSettings.KeyLifetimeDays}.
 */
public final class DataProtection {

  private static final Logger log = LoggerFactory.getLogger(DataProtection.class);

  private DataProtection() {}

  /** {@link #open(Settings, Database, Clock)} with the database's clock. */
  public static KeyRing open(Settings settings, Database database) {
    return open(settings, database, databaseClock(database));
  }

  /** A clock that reads the database's time, which every node agrees on. */
  public static Clock databaseClock(Database database) {
    return new DatabaseClock(database, ZoneOffset.UTC);
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
    return open(settings, database, clock, CertificateStore.forPlatform(settings.dataDir));
  }

  /**
   * As {@link #open(Settings, Database, Clock)} with the certificates of {@code store}.
   *
   * <p>The protector for new keys is the certificate named by {@code
   * DataProtectionSettings.ProtectKeysWithCertificate.Thumbprint}, else the machine key file. Keys
   * wrapped by another protector this node still holds (the machine key file when it exists, the
   * certificates of {@code OlderThumbprints}) are re-wrapped with it, so switching protector needs
   * no secret re-entered. Keys that no protector of this node unwraps make the open fail with a
   * message that lists the secrets depending on them.
   *
   * @throws CertificateProblem when the configured certificate cannot be used (the start-up
   *     validation: missing, expired, not yet valid, untrusted, private key unreadable)
   */
  public static KeyRing open(
      Settings settings, Database database, Clock clock, CertificateStore store) {
    Settings.DataProtectionSection section = settings.dataProtection;
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
    Instant now = clock.instant();
    String configured = section.protectKeysWithCertificate.thumbprint;
    Path keyFile = machineKeyFile(settings);
    KeyProtector current;
    List<KeyProtector> unwrapOnly = new ArrayList<>();
    if (configured == null || configured.isBlank()) {
      current = MachineProtector.open(keyFile);
    } else {
      Thumbprint thumbprint = thumbprint(configured, "Thumbprint");
      current = CertificateProtector.open(store, thumbprint, now, CertificateProtector.Use.CURRENT);
      if (Files.exists(keyFile)) {
        try {
          unwrapOnly.add(MachineProtector.open(keyFile));
        } catch (ProtectionException e) {
          log.warn("The machine key file is not used for unwrapping: {}", e.getMessage());
        }
      }
    }
    for (String older : section.protectKeysWithCertificate.olderThumbprints) {
      Thumbprint t = thumbprint(older, "OlderThumbprints");
      try {
        unwrapOnly.add(
            CertificateProtector.open(store, t, now, CertificateProtector.Use.UNWRAP_ONLY));
      } catch (CertificateProblem e) {
        // Not fatal by itself: it matters only if a key is still wrapped by it (reported below).
        log.warn("Older data protection certificate not usable for unwrapping: {}", e.getMessage());
      }
    }
    KeyRing ring =
        new KeyRing(
            database.jdbi(), current, unwrapOnly, Duration.ofDays(section.keyLifetimeDays), clock);
    ring.rewrap();
    List<KeyRing.KeyInfo> unusable = ring.unusableKeys();
    if (!unusable.isEmpty()) {
      throw unusable(database, ring, unusable);
    }
    ring.checkUsable();
    return ring;
  }

  private static Thumbprint thumbprint(String text, String key) {
    try {
      return Thumbprint.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          "DataProtectionSettings.ProtectKeysWithCertificate." + key + ": " + e.getMessage());
    }
  }

  /** The failure for keys this node cannot unwrap, naming every secret that depends on them. */
  private static UnusableKeysException unusable(
      Database database, KeyRing ring, List<KeyRing.KeyInfo> unusable) {
    Set<UUID> ids = unusable.stream().map(KeyRing.KeyInfo::id).collect(Collectors.toSet());
    List<ProtectedSecrets.Secret> secrets = ProtectedSecrets.protectedWith(database.jdbi(), ids);
    Map<String, List<UUID>> byProtector = new LinkedHashMap<>();
    for (KeyRing.KeyInfo k : unusable) {
      byProtector.computeIfAbsent(k.protectorId(), p -> new ArrayList<>()).add(k.id());
    }
    StringBuilder m = new StringBuilder();
    m.append("This node (keys protected by ")
        .append(ring.protector().describe())
        .append(") cannot unwrap ")
        .append(unusable.size())
        .append(unusable.size() == 1 ? " data protection key: " : " data protection keys: ");
    m.append(
        byProtector.entrySet().stream()
            .map(e -> e.getValue() + " wrapped by " + e.getKey())
            .collect(Collectors.joining("; ")));
    m.append(". ");
    boolean machine = byProtector.keySet().stream().anyMatch(p -> p.startsWith("machine:"));
    if (machine) {
      m.append(
          "Keys wrapped by a machine key file can be read only on the machine that wrapped them:"
              + " in a cluster, import one certificate with its private key on every node and set"
              + " DataProtectionSettings.ProtectKeysWithCertificate.Thumbprint on every node (vigil"
              + " protect use --thumbprint T); the node that wrapped these keys re-wraps them when"
              + " it next starts, and no secret has to be re-entered. ");
    } else {
      m.append(
          "Install that certificate with its private key in this node's store (vigil protect"
              + " import-cert), and list it in"
              + " DataProtectionSettings.ProtectKeysWithCertificate.OlderThumbprints if it is no"
              + " longer the current one. ");
    }
    if (secrets.isEmpty()) {
      m.append("No stored secret depends on these keys yet.");
    } else {
      m.append("If no node can re-wrap them, these secrets must be re-entered: ")
          .append(
              secrets.stream()
                  .map(ProtectedSecrets.Secret::description)
                  .collect(Collectors.joining(", ")))
          .append(".");
    }
    return new UnusableKeysException(m.toString(), unusable, secrets);
  }

  /** Keys of the ring that no protector of this node unwraps, and the secrets they protect. */
  public static final class UnusableKeysException extends ProtectionException {
    private final List<KeyRing.KeyInfo> keys;
    private final List<ProtectedSecrets.Secret> secrets;

    UnusableKeysException(
        String message, List<KeyRing.KeyInfo> keys, List<ProtectedSecrets.Secret> secrets) {
      super(message);
      this.keys = List.copyOf(keys);
      this.secrets = List.copyOf(secrets);
    }

    public List<KeyRing.KeyInfo> keys() {
      return keys;
    }

    /** The secrets that must be re-entered if no node can re-wrap the keys. */
    public List<ProtectedSecrets.Secret> secrets() {
      return secrets;
    }
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
