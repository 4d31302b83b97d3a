package io.vigil.server.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import io.vigil.server.cluster.Fence;
import io.vigil.server.protect.DataProtector;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * The provider's signing keys, shared by all nodes through the database. The private key is stored
 * encrypted by the {@link DataProtector} (purpose {@value #PURPOSE}); the public key in clear, for
 * JWKS. A key is made for one algorithm, {@code Identity.SigningAlgorithm}: RS256 (an RSA 2048 key)
 * or ES256 (an EC P-256 key); the JWK's {@code alg} records which (keys stored before ES256 existed
 * are RSA and say RS256).
 *
 * <p>One key is current (signs) and the one before it is previous (still verifies, still in JWKS),
 * so a token signed just before a rotation stays valid until it expires. A key is rotated once it
 * has been current for the rotation period, or as soon as the configured algorithm is not the
 * current key's (an operator switched it); the check runs whenever a token is signed or the JWKS is
 * served, and when the node takes the role, so no timer is needed.
 *
 * <p>Races: which key is current lives in the single row of {@code identity_signing_state}, changed
 * only by a conditional UPDATE naming the kid the node saw. Of two nodes rotating (or installing
 * the first key) at once, exactly one UPDATE matches; the other inserts nothing and re-reads.
 * Another node's rotation is picked up when a token carries a kid this node does not know yet.
 */
public final class SigningKeys {

  static final String PURPOSE = "identity.signing-key";
  private static final Duration RELOAD_AT_MOST_EVERY = Duration.ofSeconds(5);

  /** The algorithms a key can be made for, by {@code Identity.SigningAlgorithm}. */
  public static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256);

  record Loaded(JWK current, Instant activatedAt, List<JWK> publicKeys) {}

  private final Fence fence;
  private final DataProtector protector;
  private final Clock clock;
  private final Duration rotation;
  private final JWSAlgorithm algorithm;
  private volatile Loaded loaded;
  private volatile Instant lastReload = Instant.EPOCH;

  /** Keys for RS256, the default. */
  public SigningKeys(Fence fence, DataProtector protector, Clock clock, Duration rotation) {
    this(fence, protector, clock, rotation, JWSAlgorithm.RS256);
  }

  /**
   * @param algorithm what new keys are made for: one of {@link #ALGORITHMS}
   */
  public SigningKeys(
      Fence fence,
      DataProtector protector,
      Clock clock,
      Duration rotation,
      JWSAlgorithm algorithm) {
    if (!ALGORITHMS.contains(algorithm)) {
      throw new IllegalArgumentException(
          "Identity.SigningAlgorithm " + algorithm + " is not supported: use RS256 or ES256.");
    }
    this.fence = fence;
    this.protector = protector;
    this.clock = clock;
    this.rotation = rotation;
    this.algorithm = algorithm;
  }

  /** The algorithm new keys are made for (the configured one). */
  public JWSAlgorithm algorithm() {
    return algorithm;
  }

  /**
   * The algorithm {@code key} was made for: its {@code alg}, or, for a key without one, RS256 for
   * an RSA key and ES256 for an EC P-256 key. Null when the key does not fit an algorithm this
   * provider signs with (a token naming such a key is refused).
   */
  static JWSAlgorithm algorithmOf(JWK key) {
    JWSAlgorithm alg =
        key.getAlgorithm() != null
            ? JWSAlgorithm.parse(key.getAlgorithm().getName())
            : key instanceof RSAKey
                ? JWSAlgorithm.RS256
                : key instanceof ECKey ? JWSAlgorithm.ES256 : null;
    if (JWSAlgorithm.RS256.equals(alg) && key instanceof RSAKey) {
      return JWSAlgorithm.RS256;
    }
    if (JWSAlgorithm.ES256.equals(alg)
        && key instanceof ECKey ec
        && Curve.P_256.equals(ec.getCurve())) {
      return JWSAlgorithm.ES256;
    }
    return null;
  }

  /**
   * Installs the first key when there is none, inside the caller's transaction (which holds the
   * state row's lock); the caller {@link #reload}s after the commit.
   */
  void ensureFirst(Handle h, JWK first) {
    String current = currentKid(h);
    if (current == null) {
      install(h, null, first != null ? first : generate());
    }
  }

  /**
   * A new key for {@link #ensureFirst}, made before its transaction opens: key generation takes
   * long enough on a busy machine to outlast the fenced transaction's idle timeout.
   */
  JWK newKey() {
    return generate();
  }

  /**
   * The key that signs now, rotating first when it has been current for the rotation period or was
   * made for another algorithm than the configured one.
   */
  public JWK current() {
    Loaded keys = keys();
    if (!clock.instant().isBefore(keys.activatedAt().plus(rotation))
        || !algorithm.equals(algorithmOf(keys.current()))) {
      JWK next = generate();
      String seen = keys.current().getKeyID();
      fence.write(h -> install(h, seen, next));
      keys = reload();
    }
    return keys.current();
  }

  /** Public keys to publish and to verify with: the current one first, then the previous one. */
  public List<JWK> publicKeys() {
    current();
    return keys().publicKeys();
  }

  /**
   * The algorithms of the published keys, the current key's (the configured one) first: what ID
   * tokens may be signed with, for discovery's {@code id_token_signing_alg_values_supported}.
   */
  public List<JWSAlgorithm> publishedAlgorithms() {
    return publicKeys().stream()
        .map(SigningKeys::algorithmOf)
        .filter(java.util.Objects::nonNull)
        .distinct()
        .toList();
  }

  /**
   * The public key with {@code kid}, re-reading the database (at most every few seconds) when it is
   * unknown, in case another node rotated.
   */
  public Optional<JWK> verificationKey(String kid) {
    Optional<JWK> key = find(keys(), kid);
    if (key.isEmpty() && clock.instant().isAfter(lastReload.plus(RELOAD_AT_MOST_EVERY))) {
      key = find(reload(), kid);
    }
    return key;
  }

  private static Optional<JWK> find(Loaded keys, String kid) {
    return keys.publicKeys().stream().filter(k -> k.getKeyID().equals(kid)).findFirst();
  }

  private Loaded keys() {
    Loaded keys = loaded;
    return keys != null ? keys : reload();
  }

  /** Re-reads the keys from the database; also picks up another node's rotation. */
  Loaded reload() {
    Loaded keys =
        fence.read(
            h -> {
              var state =
                  h.createQuery(
                          "SELECT current_kid, previous_kid FROM identity_signing_state WHERE id = 1")
                      .map((rs, c) -> new String[] {rs.getString(1), rs.getString(2)})
                      .one();
              if (state[0] == null) {
                throw new IllegalStateException(
                    "The identity provider has no signing key yet; start() installs one.");
              }
              var row =
                  h.createQuery(
                          "SELECT private_jwk_protected, activated_at FROM identity_signing_keys"
                              + " WHERE kid = :kid")
                      .bind("kid", state[0])
                      .map((rs, c) -> new Object[] {rs.getBytes(1), rs.getTimestamp(2).toInstant()})
                      .one();
              byte[] json = protector.unprotect(PURPOSE, (byte[]) row[0]);
              JWK current = parse(new String(json, StandardCharsets.UTF_8));
              List<JWK> publicKeys = new ArrayList<>();
              publicKeys.add(current.toPublicJWK());
              if (state[1] != null) {
                h.createQuery("SELECT public_jwk FROM identity_signing_keys WHERE kid = :kid")
                    .bind("kid", state[1])
                    .mapTo(String.class)
                    .findOne()
                    .ifPresent(j -> publicKeys.add(parse(j)));
              }
              return new Loaded(current, (Instant) row[1], List.copyOf(publicKeys));
            });
    loaded = keys;
    lastReload = clock.instant();
    return keys;
  }

  private static String currentKid(Handle h) {
    return h.createQuery("SELECT current_kid FROM identity_signing_state WHERE id = 1")
        .mapTo(String.class)
        .one();
  }

  /** Makes {@code next} current if {@code seenKid} still is; otherwise does nothing. */
  private Void install(Handle h, String seenKid, JWK next) {
    Instant now = clock.instant();
    int won =
        h.createUpdate(
                "UPDATE identity_signing_state SET current_kid = :next, previous_kid = current_kid"
                    + " WHERE id = 1 AND "
                    + (seenKid == null ? "current_kid IS NULL" : "current_kid = :seen"))
            .bind("next", next.getKeyID())
            .bind("seen", seenKid)
            .execute();
    if (won == 0) {
      return null;
    }
    h.createUpdate(
            "INSERT INTO identity_signing_keys (kid, private_jwk_protected, public_jwk, created_at,"
                + " activated_at) VALUES (:kid, :priv, :pub, :now, :now)")
        .bind("kid", next.getKeyID())
        .bind(
            "priv",
            protector.protect(PURPOSE, next.toJSONString().getBytes(StandardCharsets.UTF_8)))
        .bind("pub", next.toPublicJWK().toJSONString())
        .bind("now", Timestamp.from(now))
        .execute();
    if (seenKid != null) {
      h.createUpdate("UPDATE identity_signing_keys SET retired_at = :now WHERE kid = :kid")
          .bind("now", Timestamp.from(now))
          .bind("kid", seenKid)
          .execute();
    }
    return null;
  }

  /** A new key for the configured algorithm, with its kid, {@code use=sig} and {@code alg}. */
  private JWK generate() {
    String kid = UUID.randomUUID().toString();
    Date now = Date.from(clock.instant());
    try {
      if (JWSAlgorithm.ES256.equals(algorithm)) {
        return new ECKeyGenerator(Curve.P_256)
            .keyID(kid)
            .keyUse(KeyUse.SIGNATURE)
            .algorithm(JWSAlgorithm.ES256)
            .issueTime(now)
            .generate();
      }
      return new RSAKeyGenerator(2048)
          .keyID(kid)
          .keyUse(KeyUse.SIGNATURE)
          .algorithm(JWSAlgorithm.RS256)
          .issueTime(now)
          .generate();
    } catch (JOSEException e) {
      throw new IllegalStateException("Cannot generate an " + algorithm + " signing key", e);
    }
  }

  private static JWK parse(String json) {
    try {
      return JWK.parse(json);
    } catch (ParseException e) {
      throw new IllegalStateException("A stored signing key is not a valid JWK", e);
    }
  }
}
