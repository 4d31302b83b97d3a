package io.vigil.server.protect;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data protection key ring: AES-256-GCM data keys kept in the shared database (table {@code
 * data_protection_keys}), each stored only wrapped by a {@link KeyProtector}.
 *
 * <p><b>Format.</b> {@link #protect} returns {@code version (1 byte, 1) | key id (16 bytes) | nonce
 * (12 bytes) | ciphertext + 16-byte tag}. The associated data is the version, the key id and the
 * purpose in UTF-8, so data protected for one purpose cannot be opened as another, and the header
 * cannot be changed without detection.
 *
 * <p><b>Rotation.</b> A key is <i>active</i> from {@code activates_at} until {@code expires_at}
 * ({@code lifetime} later) unless revoked. New data is protected with the active key that activated
 * last. When no key is active (an empty ring, or every key expired or revoked), a key that
 * activates immediately is created. When the current key expires within {@link #ROTATION_LEAD} and
 * no key is lined up to follow it, a successor is created that activates exactly when the current
 * key expires; every node reads it from the database well before it is needed, so all nodes switch
 * at the same instant and none ever encrypts with an expired key. Expired keys are never used for
 * new data but keep decrypting the data they protected, for ever. A revoked key is never used for
 * new data; data it protected still decrypts, so that its owners can re-protect it with the current
 * key.
 *
 * <p><b>Races.</b> Key creation takes a row lock ({@code data_protection_lock}) and decides again
 * with the ring as committed by then, so nodes that find the ring empty or expiring at the same
 * moment create one key between them. Key writes are deliberately not fenced by the role's epoch:
 * the ring belongs to every node (a standby node must be able to check it at start), and a key
 * added by a node that has just lost the role is a valid key like any other. A key revoked by
 * another node may still be chosen here for new data until this node next reads the ring (at the
 * latest {@link #ROTATION_LEAD} before the cached key expires).
 *
 * <p><b>Times</b> come from the {@link Clock} given at construction; the node passes the database's
 * clock so that the key schedule does not depend on any node's clock. Unwrapped keys are cached in
 * memory (at most 64); a ring holds a handful of keys.
 *
 * <p>Thread-safe.
 */
public final class KeyRing implements DataProtector {

  private static final Logger log = LoggerFactory.getLogger(KeyRing.class);

  /** How long before the current key expires its successor is created. */
  public static final Duration ROTATION_LEAD = Duration.ofDays(2);

  /** The shortest key lifetime accepted: a key is current for at least five days. */
  public static final Duration MIN_LIFETIME = Duration.ofDays(7);

  static final byte VERSION = 1;
  static final int KEY_ID_BYTES = 16;
  static final int NONCE_BYTES = 12;
  static final int TAG_BYTES = 16;
  static final int HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES;
  static final int MIN_BYTES = HEADER_BYTES + TAG_BYTES;

  private static final int CACHE_LIMIT = 64;
  private static final int DATA_KEY_BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();

  private static final String COLUMNS =
      "id, created_at, activates_at, expires_at, protector_id, wrapped_key, revoked";

  private final Jdbi jdbi;
  private final KeyProtector protector;
  private final Map<String, KeyProtector> protectors;
  private final Duration lifetime;
  private final Clock clock;
  private final Map<UUID, SecretKey> unwrapped =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<UUID, SecretKey> eldest) {
          return size() > CACHE_LIMIT;
        }
      };

  /** The key chosen by the last read of the ring; reused until it nears expiry. */
  private volatile StoredKey current;

  /**
   * A ring whose new keys are wrapped by {@code protector}.
   *
   * @param unwrapOnly further protectors this node holds, used only to unwrap keys they wrapped
   *     (for example the certificate a cluster used before the current one)
   * @param lifetime how long a key is used for new data; at least {@link #MIN_LIFETIME}
   * @param clock the source of creation, activation and expiry times
   */
  public KeyRing(
      Jdbi jdbi,
      KeyProtector protector,
      List<KeyProtector> unwrapOnly,
      Duration lifetime,
      Clock clock) {
    if (lifetime.compareTo(MIN_LIFETIME) < 0) {
      throw new IllegalArgumentException(
          "A data key lifetime of "
              + lifetime
              + " is too short: it must be at least "
              + MIN_LIFETIME.toDays()
              + " days, since a successor is made "
              + ROTATION_LEAD.toDays()
              + " days before a key expires.");
    }
    this.jdbi = Objects.requireNonNull(jdbi);
    this.protector = Objects.requireNonNull(protector);
    this.protectors =
        Stream.concat(Stream.of(protector), unwrapOnly.stream())
            .collect(
                Collectors.toMap(
                    KeyProtector::id, Function.identity(), (a, b) -> a, LinkedHashMap::new));
    this.lifetime = lifetime;
    this.clock = Objects.requireNonNull(clock);
  }

  /**
   * One key of the ring as {@link #keys()} lists it.
   *
   * @param protectorId the protector that wrapped the key, such as {@code machine:3f9a0c1e22b4d780}
   * @param unwrapsHere whether this node could unwrap the key when listed
   * @param problem when it could not, the reason, naming the protectors and the fix
   */
  public record KeyInfo(
      UUID id,
      Instant createdAt,
      Instant activatesAt,
      Instant expiresAt,
      String protectorId,
      boolean revoked,
      boolean unwrapsHere,
      Optional<String> problem) {}

  /** The protector that wraps new keys on this node. */
  public KeyProtector protector() {
    return protector;
  }

  @Override
  public byte[] protect(String purpose, byte[] plaintext) {
    byte[] aadPurpose = purposeBytes(purpose);
    Objects.requireNonNull(plaintext, "plaintext");
    StoredKey key = currentKey();
    SecretKey dataKey = dataKey(key);
    ByteBuffer out = ByteBuffer.allocate(MIN_BYTES + plaintext.length);
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    out.put(VERSION).put(MachineProtector.uuidBytes(key.id())).put(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, dataKey, new GCMParameterSpec(TAG_BYTES * 8, nonce));
      cipher.updateAAD(out.array(), 0, 1 + KEY_ID_BYTES);
      cipher.updateAAD(aadPurpose);
      cipher.doFinal(ByteBuffer.wrap(plaintext), out);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available in this Java runtime", e);
    }
    return out.array();
  }

  @Override
  public byte[] unprotect(String purpose, byte[] protectedData) {
    byte[] aadPurpose = purposeBytes(purpose);
    Objects.requireNonNull(protectedData, "protectedData");
    if (protectedData.length > 0 && protectedData[0] != VERSION) {
      throw new ProtectionException(
          "Protected data for purpose \""
              + purpose
              + "\" has format version "
              + (protectedData[0] & 0xff)
              + ", but this node reads only version "
              + VERSION
              + ": it was written by a newer Vigil, or it is not protected data. Upgrade this"
              + " node, or re-enter the secret.");
    }
    if (protectedData.length < MIN_BYTES) {
      throw new ProtectionException(
          "Protected data for purpose \""
              + purpose
              + "\" is "
              + protectedData.length
              + " bytes long, shorter than the "
              + MIN_BYTES
              + " bytes of the smallest protected value: it was truncated when stored or"
              + " copied. Re-enter the secret.");
    }
    ByteBuffer header = ByteBuffer.wrap(protectedData, 1, KEY_ID_BYTES);
    UUID keyId = new UUID(header.getLong(), header.getLong());
    SecretKey dataKey = dataKey(keyId);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(
          Cipher.DECRYPT_MODE,
          dataKey,
          new GCMParameterSpec(TAG_BYTES * 8, protectedData, 1 + KEY_ID_BYTES, NONCE_BYTES));
      cipher.updateAAD(protectedData, 0, 1 + KEY_ID_BYTES);
      cipher.updateAAD(aadPurpose);
      return cipher.doFinal(protectedData, HEADER_BYTES, protectedData.length - HEADER_BYTES);
    } catch (AEADBadTagException e) {
      throw new ProtectionException(
          "Data protected with key "
              + keyId
              + " was not protected for purpose \""
              + purpose
              + "\" or has been altered. Check that the caller reads the secret it stored under"
              + " this purpose; if the stored value was changed, re-enter the secret.",
          e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available in this Java runtime", e);
    }
  }

  /**
   * Checks that this node can unwrap every key of the ring, then makes sure there is a current key
   * (creating the first one in an empty ring). Called at start so that a misconfigured node fails
   * before it serves anything.
   *
   * @throws ProtectionException for the first key this node cannot unwrap, naming the key, the
   *     protector that wrapped it, the one this node has, and the fix
   */
  public void checkUsable() {
    for (StoredKey key : load()) {
      dataKey(key);
    }
    currentKey();
  }

  /** The key that protects new data now and the protector wrapping keys, for the start-up log. */
  public String describeCurrent() {
    StoredKey key = currentKey();
    return "key "
        + key.id()
        + " protects new data until "
        + key.expiresAt()
        + "; keys are wrapped by "
        + protector.describe();
  }

  /**
   * Re-wraps with this node's {@link #protector()} every key that another protector of this node
   * (an unwrap-only one, such as the machine key file or an older certificate) wrapped, so that
   * switching protectors needs no secret re-entered. A key another node re-wraps at the same moment
   * is left as that node wrote it (the update is conditional on the row being unchanged).
   *
   * @return the ids of the keys re-wrapped, with the protector each was wrapped by before
   */
  public Map<UUID, String> rewrap() {
    Map<UUID, String> done = new LinkedHashMap<>();
    for (StoredKey key : load()) {
      if (key.protectorId().equals(protector.id()) || !protectors.containsKey(key.protectorId())) {
        continue;
      }
      SecretKey data = dataKey(key);
      byte[] raw = data.getEncoded();
      try {
        byte[] wrapped = protector.wrap(key.id(), raw);
        int changed =
            jdbi.withHandle(
                h ->
                    h.createUpdate(
                            "UPDATE data_protection_keys SET protector_id = :to, wrapped_key = :w"
                                + " WHERE id = :id AND protector_id = :from")
                        .bind("to", protector.id())
                        .bind("w", wrapped)
                        .bind("id", key.id())
                        .bind("from", key.protectorId())
                        .execute());
        if (changed == 1) {
          done.put(key.id(), key.protectorId());
          log.info(
              "Re-wrapped data protection key {} from {} to {}",
              key.id(),
              key.protectorId(),
              protector.id());
        }
      } finally {
        Arrays.fill(raw, (byte) 0);
      }
    }
    if (!done.isEmpty()) {
      current = null;
    }
    return done;
  }

  /** The keys of the ring this node cannot unwrap, with the reason for each. */
  public List<KeyInfo> unusableKeys() {
    return keys().stream().filter(k -> !k.unwrapsHere()).toList();
  }

  /**
   * The ring's keys, oldest activation first, each with whether this node can unwrap it and, when
   * not, why. Reads the database; never creates a key.
   */
  public List<KeyInfo> keys() {
    return load().stream()
        .map(
            k -> {
              Optional<String> problem;
              try {
                dataKey(k);
                problem = Optional.empty();
              } catch (ProtectionException e) {
                problem = Optional.of(e.getMessage());
              }
              return new KeyInfo(
                  k.id(),
                  k.createdAt(),
                  k.activatesAt(),
                  k.expiresAt(),
                  k.protectorId(),
                  k.revoked(),
                  problem.isEmpty(),
                  problem);
            })
        .toList();
  }

  private StoredKey currentKey() {
    Instant now = clock.instant();
    StoredKey cached = current;
    if (cached != null
        && !now.isBefore(cached.activatesAt())
        && now.isBefore(cached.expiresAt().minus(ROTATION_LEAD))) {
      return cached;
    }
    List<StoredKey> keys = load();
    Optional<Instant> needed = keyNeeded(keys, now);
    if (needed.isPresent()) {
      keys = jdbi.inTransaction(h -> createIfStillNeeded(h, now));
    }
    StoredKey chosen =
        active(keys, now)
            .orElseThrow(
                () -> new IllegalStateException("No active data key after creating one at " + now));
    current = chosen;
    return chosen;
  }

  /** Creates the key {@link #keyNeeded} asks for, unless another node did it first. */
  private List<StoredKey> createIfStillNeeded(Handle h, Instant now) {
    // Serialises creators across nodes; the re-read below sees everything committed before.
    h.createQuery("SELECT id FROM data_protection_lock WHERE id = 1 FOR UPDATE")
        .mapTo(Integer.class)
        .one();
    List<StoredKey> keys = load(h);
    Optional<Instant> activation = keyNeeded(keys, now);
    if (activation.isEmpty()) {
      return keys;
    }
    UUID id = UUID.randomUUID();
    byte[] raw = new byte[DATA_KEY_BYTES];
    RANDOM.nextBytes(raw);
    byte[] wrapped = protector.wrap(id, raw);
    StoredKey key =
        new StoredKey(
            id,
            now,
            activation.get(),
            activation.get().plus(lifetime),
            protector.id(),
            wrapped,
            false);
    h.createUpdate(
            "INSERT INTO data_protection_keys ("
                + COLUMNS
                + ") VALUES (:id, :created, :activates, :expires, :protector, :wrapped, FALSE)")
        .bind("id", id)
        .bind("created", key.createdAt())
        .bind("activates", key.activatesAt())
        .bind("expires", key.expiresAt())
        .bind("protector", key.protectorId())
        .bind("wrapped", wrapped)
        .execute();
    synchronized (unwrapped) {
      unwrapped.put(id, new SecretKeySpec(raw, "AES"));
    }
    Arrays.fill(raw, (byte) 0);
    log.info(
        "Created data protection key {} (active {} to {}), wrapped by {}",
        id,
        key.activatesAt(),
        key.expiresAt(),
        protector.id());
    return load(h);
  }

  /**
   * When a key must be created, its activation time: now if no key is active, the current key's
   * expiry if that is within {@link #ROTATION_LEAD} and no key is lined up to follow it.
   */
  private static Optional<Instant> keyNeeded(List<StoredKey> keys, Instant now) {
    Optional<StoredKey> active = active(keys, now);
    if (active.isEmpty()) {
      return Optional.of(now);
    }
    Instant expiry = active.get().expiresAt();
    if (now.isBefore(expiry.minus(ROTATION_LEAD))) {
      return Optional.empty();
    }
    boolean successor =
        keys.stream()
            .anyMatch(
                k ->
                    !k.revoked()
                        && !k.activatesAt().isAfter(expiry)
                        && k.expiresAt().isAfter(expiry));
    return successor ? Optional.empty() : Optional.of(expiry);
  }

  /** The key for new data at {@code now}: the unrevoked, unexpired key that activated last. */
  private static Optional<StoredKey> active(List<StoredKey> keys, Instant now) {
    return keys.stream()
        .filter(k -> !k.revoked() && !now.isBefore(k.activatesAt()) && now.isBefore(k.expiresAt()))
        .max(
            Comparator.comparing(StoredKey::activatesAt)
                .thenComparing(StoredKey::createdAt)
                .thenComparing(StoredKey::id));
  }

  private SecretKey dataKey(UUID keyId) {
    synchronized (unwrapped) {
      SecretKey key = unwrapped.get(keyId);
      if (key != null) {
        return key;
      }
    }
    StoredKey row =
        jdbi.withHandle(
                h ->
                    h.createQuery("SELECT " + COLUMNS + " FROM data_protection_keys WHERE id = :id")
                        .bind("id", keyId)
                        .map((rs, ctx) -> StoredKey.from(rs))
                        .findOne())
            .orElseThrow(
                () ->
                    new ProtectionException(
                        "Protected data names data protection key "
                            + keyId
                            + ", which is not in the key ring (table data_protection_keys): the"
                            + " key was deleted, or the data comes from another Vigil"
                            + " installation. Restore the key ring from the backup taken with"
                            + " this data, or re-enter the secret."));
    return dataKey(row);
  }

  private SecretKey dataKey(StoredKey row) {
    synchronized (unwrapped) {
      SecretKey key = unwrapped.get(row.id());
      if (key != null) {
        return key;
      }
    }
    KeyProtector wrapper = protectors.get(row.protectorId());
    if (wrapper == null) {
      throw new ProtectionException(wrappedElsewhere(row));
    }
    byte[] raw = wrapper.unwrap(row.id(), row.wrappedKey());
    try {
      if (raw.length != DATA_KEY_BYTES) {
        throw new ProtectionException(
            "Data protection key "
                + row.id()
                + " unwrapped with "
                + wrapper.describe()
                + " to "
                + raw.length
                + " bytes instead of "
                + DATA_KEY_BYTES
                + ": the stored key is damaged. Restore the table data_protection_keys from a"
                + " backup, or re-enter the secrets it protected.");
      }
      SecretKey key = new SecretKeySpec(raw, "AES");
      synchronized (unwrapped) {
        unwrapped.put(row.id(), key);
      }
      return key;
    } finally {
      Arrays.fill(raw, (byte) 0);
    }
  }

  private String wrappedElsewhere(StoredKey row) {
    String here =
        protectors.values().stream().map(KeyProtector::describe).collect(Collectors.joining("; "));
    String message =
        "Data protection key "
            + row.id()
            + " was wrapped by protector "
            + row.protectorId()
            + ", but this node has "
            + here
            + ". ";
    if (row.protectorId().startsWith("machine:")) {
      return message
          + "This key ring was protected on another machine; in a cluster, protect keys with a"
          + " certificate (DataProtectionSettings.ProtectKeysWithCertificate.Thumbprint) so every"
          + " node can read them.";
    }
    return message
        + "Make the protector that wrapped it available on this node (for a certificate, install"
        + " it with its private key in this node's certificate store), then start again.";
  }

  private List<StoredKey> load() {
    return jdbi.withHandle(KeyRing::load);
  }

  private static List<StoredKey> load(Handle h) {
    return h.createQuery(
            "SELECT "
                + COLUMNS
                + " FROM data_protection_keys ORDER BY activates_at, created_at, id")
        .map((rs, ctx) -> StoredKey.from(rs))
        .list();
  }

  private static byte[] purposeBytes(String purpose) {
    if (purpose == null || purpose.isBlank()) {
      throw new IllegalArgumentException(
          "A data protection purpose is required, such as \"identity.signing-key\"; it keeps"
              + " secrets of one kind from being opened as another.");
    }
    return purpose.getBytes(StandardCharsets.UTF_8);
  }

  /** A row of {@code data_protection_keys}. */
  @SuppressWarnings("ArrayRecordComponent") // never compared or hashed: the array is a carrier
  private record StoredKey(
      UUID id,
      Instant createdAt,
      Instant activatesAt,
      Instant expiresAt,
      String protectorId,
      byte[] wrappedKey,
      boolean revoked) {

    static StoredKey from(ResultSet rs) throws SQLException {
      return new StoredKey(
          rs.getObject("id", UUID.class),
          rs.getObject("created_at", OffsetDateTime.class).toInstant(),
          rs.getObject("activates_at", OffsetDateTime.class).toInstant(),
          rs.getObject("expires_at", OffsetDateTime.class).toInstant(),
          rs.getString("protector_id"),
          rs.getBytes("wrapped_key"),
          rs.getBoolean("revoked"));
    }
  }
}
