package io.vigil.server.protect;

import java.time.Instant;
import java.util.List;

/**
 * What a node found when it checked its data protection: the protector, the certificates it is
 * configured with, whether it can unwrap every key of the ring, and, when it cannot, why and which
 * secrets a failover to it would break. Published in the database for {@code vigil cluster
 * validate}.
 *
 * @param protector the protector that wraps new keys, described, or the configured one when it
 *     cannot be opened
 * @param usable whether this node can open the key ring (and so take the role)
 * @param problemCode a stable code when not usable: one of {@link CertificateProblem.Code}'s codes,
 *     {@code keys_not_unwrappable} or {@code protection_failed}
 * @param problem the one-line message, naming the cause and the fix
 * @param keys how many keys the ring holds
 * @param keysUnwrappable how many of them this node can unwrap
 * @param secretsAtRisk secrets protected by keys this node cannot unwrap
 * @param warnings things that still work but will not for long (a certificate expiring soon)
 */
public record ProtectionReport(
    String protector,
    boolean usable,
    String problemCode,
    String problem,
    List<CertificateInfo> certificates,
    int keys,
    int keysUnwrappable,
    List<String> secretsAtRisk,
    List<String> warnings) {

  /**
   * A certificate the node is configured with.
   *
   * @param use {@code data-protection}, {@code data-protection-older} or {@code tls}
   * @param found whether the store holds it
   */
  public record CertificateInfo(
      String use,
      String thumbprint,
      boolean found,
      String subject,
      Instant notAfter,
      Long daysLeft,
      Boolean trusted,
      Boolean privateKeyReadable) {}
}
