package io.vigil.server.protect;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Where Vigil keeps data protected by the key ring, so that when a key cannot be unwrapped on a
 * node, the node can say exactly which secrets depend on it and must be re-entered (the seed's
 * "re-enter the client secret"), instead of failing later when one is first read.
 */
public final class ProtectedSecrets {

  /**
   * A column of protected values.
   *
   * @param what how an operator names one value, with {@code %s} for its name
   * @param fix how to re-enter it
   */
  record Location(String table, String nameColumn, String valueColumn, String what, String fix) {}

  static final List<Location> LOCATIONS =
      List.of(
          new Location(
              "identity_signing_keys",
              "kid",
              "private_jwk_protected",
              "identity provider signing key %s",
              "it is replaced at the next signing key rotation; tokens it signed stop verifying"),
          new Location(
              "oauth_clients",
              "client_id",
              "secret_protected",
              "client secret of client %s",
              "issue a new secret for the client and give it to the component"),
          new Location(
              "hardware",
              "name",
              "password_protected",
              "password of hardware %s",
              "set the device password again (PUT /api/v1/hardware/{id})"),
          new Location(
              "identity_providers",
              "name",
              "client_secret_protected",
              "client secret of external identity provider %s",
              "enter the provider's client secret again"),
          new Location(
              "user_mfa",
              "user_id",
              "secret_protected",
              "TOTP secret of user %s",
              "reset the user's multi-factor sign-in (DELETE /api/v1/users/{id}/mfa) and have"
                  + " them enrol again"));

  /** One stored secret that depends on a key this node cannot unwrap. */
  public record Secret(String description, UUID keyId, String fix) {}

  private ProtectedSecrets() {}

  /** The secrets protected with any of {@code keyIds}. Tables that do not exist are skipped. */
  public static List<Secret> protectedWith(Jdbi jdbi, Set<UUID> keyIds) {
    List<Secret> out = new ArrayList<>();
    if (keyIds.isEmpty()) {
      return out;
    }
    for (Location l : LOCATIONS) {
      try {
        jdbi.useHandle(
            h ->
                h.createQuery(
                        "SELECT "
                            + l.nameColumn()
                            + " AS n, "
                            + l.valueColumn()
                            + " AS v FROM "
                            + l.table()
                            + " WHERE "
                            + l.valueColumn()
                            + " IS NOT NULL ORDER BY "
                            + l.nameColumn())
                    .map((rs, ctx) -> new Object[] {rs.getString("n"), rs.getBytes("v")})
                    .forEach(
                        row -> {
                          UUID key = keyId((byte[]) row[1]);
                          if (key != null && keyIds.contains(key)) {
                            out.add(new Secret(l.what().formatted(row[0]), key, l.fix()));
                          }
                        }));
      } catch (RuntimeException e) {
        // The table belongs to a feature whose migration has not run on this database.
      }
    }
    return out;
  }

  /** The id of the key that protected {@code value}, or null when it is not protected data. */
  static UUID keyId(byte[] value) {
    if (value == null || value.length < KeyRing.MIN_BYTES || value[0] != KeyRing.VERSION) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(value, 1, KeyRing.KEY_ID_BYTES);
    return new UUID(b.getLong(), b.getLong());
  }
}
