package io.vigil.server.protect;

/**
 * A data protection certificate cannot be used on this node. {@link #getMessage()} is the one log
 * line an operator needs: the certificate (thumbprint, subject when known), the exact cause and the
 * fix. {@link #code()} is stable, for the API and the CLI.
 */
public final class CertificateProblem extends ProtectionException {

  /** What is wrong, as a stable code. */
  public enum Code {
    CERTIFICATE_NOT_FOUND("certificate_not_found"),
    CERTIFICATE_EXPIRED("certificate_expired"),
    CERTIFICATE_NOT_YET_VALID("certificate_not_yet_valid"),
    CERTIFICATE_UNTRUSTED("certificate_untrusted"),
    PRIVATE_KEY_UNREADABLE("private_key_unreadable"),
    CERTIFICATE_UNSUITABLE("certificate_unsuitable");

    private final String code;

    Code(String code) {
      this.code = code;
    }

    public String code() {
      return code;
    }
  }

  private final Code code;
  private final Thumbprint thumbprint;

  public CertificateProblem(Code code, Thumbprint thumbprint, String message) {
    super(message);
    this.code = code;
    this.thumbprint = thumbprint;
  }

  public Code code() {
    return code;
  }

  public Thumbprint thumbprint() {
    return thumbprint;
  }
}
