package io.vigil.server.protect;

import io.vigil.server.config.OwnerOnlyFiles;
import io.vigil.server.config.WindowsAcl;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.AclFileAttributeView;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default key protector, Vigil's counterpart of DPAPI's machine scope: a random AES-256
 * key-encryption key in a file that only the service account can read, on this machine alone. Data
 * keys are wrapped with AES-GCM under that key, with a random 96-bit nonce and the data key's id as
 * associated data. Wrapped form: {@code nonce (12) | ciphertext + tag}.
 *
 * <p>The key file is created on first use: with POSIX permissions 600 set atomically at creation
 * (its directory 700 when Vigil creates it), or, where the file system has no POSIX permissions
 * (Windows), with an ACL that grants only the owner. Creation writes a temporary file and links it
 * into place, so two processes starting at once on one machine end up sharing whichever file won;
 * neither ever reads a half-written file.
 *
 * <p>{@link #id()} is {@code machine:} followed by the first 8 bytes of the SHA-256 of the key, in
 * hex: different on every machine, the same for every process that reads the same file.
 */
public final class MachineProtector implements KeyProtector {

  private static final Logger log = LoggerFactory.getLogger(MachineProtector.class);

  /** Size of the key-encryption key in the file (AES-256). */
  static final int KEY_BYTES = 32;

  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path keyFile;
  private final SecretKey key;
  private final String id;

  private MachineProtector(Path keyFile, byte[] keyBytes) {
    this.keyFile = keyFile;
    this.key = new SecretKeySpec(keyBytes, "AES");
    this.id = "machine:" + HexFormat.of().formatHex(sha256(keyBytes), 0, 8);
    Arrays.fill(keyBytes, (byte) 0);
  }

  /**
   * Reads the key file at {@code keyFile}, creating it (and its missing parent directories) with a
   * new random key when it does not exist.
   *
   * @throws ProtectionException naming the path and the fix when the file exists but cannot be
   *     read, does not hold a key of the right size, or cannot be created
   */
  public static MachineProtector open(Path keyFile) {
    Path file = keyFile.toAbsolutePath().normalize();
    byte[] bytes;
    try {
      bytes = Files.exists(file) ? read(file) : create(file);
    } catch (IOException e) {
      throw new ProtectionException(
          "Cannot create the machine key file "
              + file
              + " as user "
              + System.getProperty("user.name")
              + ": "
              + e
              + ". Give that account write access to "
              + file.getParent()
              + ", or set DataProtectionSettings.MachineKeyFile to a path it may write.",
          e);
    }
    return new MachineProtector(file, bytes);
  }

  /**
   * The platform's default key file: {@code %ProgramData%\Vigil\machine.key} on Windows; on Linux
   * and macOS {@code $XDG_CONFIG_HOME/vigil/machine.key} when that variable holds an absolute path,
   * else {@code ~/.config/vigil/machine.key}.
   */
  public static Path defaultKeyFile(Map<String, String> env, String osName, Path userHome) {
    if (osName != null && osName.toLowerCase(Locale.ROOT).startsWith("windows")) {
      String programData = env.get("ProgramData");
      if (programData == null || programData.isBlank()) {
        programData = env.getOrDefault("PROGRAMDATA", "C:\\ProgramData");
      }
      return Path.of(programData, "Vigil", "machine.key");
    }
    String xdg = env.get("XDG_CONFIG_HOME");
    // The XDG base directory specification says relative values are invalid and must be ignored.
    if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
      return Path.of(xdg, "vigil", "machine.key");
    }
    return userHome.resolve(".config").resolve("vigil").resolve("machine.key");
  }

  /** The key file this protector reads. */
  public Path keyFile() {
    return keyFile;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String describe() {
    return "the machine key file " + keyFile + " (" + id + ")";
  }

  @Override
  public byte[] wrap(UUID keyId, byte[] dataKey) {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(uuidBytes(keyId));
      byte[] sealed = cipher.doFinal(dataKey);
      return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available in this Java runtime", e);
    }
  }

  @Override
  public byte[] unwrap(UUID keyId, byte[] wrapped) {
    if (wrapped.length < NONCE_BYTES + TAG_BITS / 8) {
      throw damaged(keyId, "it is only " + wrapped.length + " bytes long", null);
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(
          Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, wrapped, 0, NONCE_BYTES));
      cipher.updateAAD(uuidBytes(keyId));
      return cipher.doFinal(wrapped, NONCE_BYTES, wrapped.length - NONCE_BYTES);
    } catch (AEADBadTagException e) {
      throw damaged(keyId, "it was altered, or wrapped by another machine key file", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available in this Java runtime", e);
    }
  }

  @Override
  public String toString() {
    return id;
  }

  private ProtectionException damaged(UUID keyId, String cause, Throwable e) {
    return new ProtectionException(
        "Data protection key "
            + keyId
            + " cannot be unwrapped with "
            + describe()
            + ": "
            + cause
            + ". Restore the table data_protection_keys and the key file from the same backup,"
            + " or re-enter the secrets that this key protected.",
        e);
  }

  static byte[] uuidBytes(UUID id) {
    return ByteBuffer.allocate(16)
        .putLong(id.getMostSignificantBits())
        .putLong(id.getLeastSignificantBits())
        .array();
  }

  private static byte[] read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (AccessDeniedException e) {
      throw new ProtectionException(
          "The machine key file "
              + file
              + " cannot be read by user "
              + System.getProperty("user.name")
              + " (access denied). Run Vigil as the account that owns the file, or make that"
              + " account its owner with read access for it alone (chmod 600).",
          e);
    } catch (IOException e) {
      throw new ProtectionException(
          "The machine key file "
              + file
              + " cannot be read: "
              + e
              + ". Check the file and its directory, or restore the file from a backup.",
          e);
    }
    if (bytes.length != KEY_BYTES) {
      int length = bytes.length;
      Arrays.fill(bytes, (byte) 0);
      throw new ProtectionException(
          "The machine key file "
              + file
              + " holds "
              + length
              + " bytes, not the "
              + KEY_BYTES
              + " of a Vigil machine key: it is damaged or is another kind of file. Restore it"
              + " from a backup; if nothing was ever protected on this machine, delete it and"
              + " Vigil creates a new one.");
    }
    try {
      refuseIfShared(file);
    } catch (ProtectionException e) {
      Arrays.fill(bytes, (byte) 0);
      throw e;
    }
    return bytes;
  }

  private static byte[] create(Path file) throws IOException {
    Path dir = file.getParent();
    OwnerOnlyFiles.createDirectories(dir);
    FileAttribute<?> ownerOnly = OwnerOnlyFiles.fileAttribute(dir);
    byte[] bytes = new byte[KEY_BYTES];
    RANDOM.nextBytes(bytes);
    // The permissions are set as the temporary file is created, so the key is never readable by
    // anyone else, not even for a moment; linking it into place fails if another process won.
    Path tmp = Files.createTempFile(dir, ".machine.key-", ".tmp", ownerOnly);
    try {
      Files.write(tmp, bytes);
      if (!OwnerOnlyFiles.posix()) {
        WindowsAcl.protect(tmp);
      }
      try {
        Files.createLink(file, tmp);
      } catch (UnsupportedOperationException e) {
        // No hard links on this file system; a move without replace is the next best thing.
        Files.move(tmp, file);
      }
    } catch (FileAlreadyExistsException e) {
      // Another process on this machine created the file first: use its key so both agree.
      Arrays.fill(bytes, (byte) 0);
      return read(file);
    } finally {
      Files.deleteIfExists(tmp);
    }
    log.info("Created the machine key file {}; back it up with the database", file);
    return bytes;
  }

  /**
   * Refuses a key file that accounts other than its owner may read or change: with it they hold
   * every secret Vigil protects. Owner-only files (600, 400) pass; on a file system without POSIX
   * permissions (Windows), an ACL that allows nobody but the owner and Windows' own accounts.
   */
  private static void refuseIfShared(Path file) {
    if (!OwnerOnlyFiles.posix()) {
      refuseIfSharedAcl(file);
      return;
    }
    Set<PosixFilePermission> perms;
    try {
      perms = Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException | IOException e) {
      return;
    }
    Set<PosixFilePermission> others = EnumSet.copyOf(perms);
    others.removeAll(
        EnumSet.of(
            PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE,
            PosixFilePermission.OWNER_EXECUTE));
    if (!others.isEmpty()) {
      throw new ProtectionException(
          "The machine key file "
              + file
              + " has permissions "
              + PosixFilePermissions.toString(perms)
              + ": other accounts can read or change it, and with it every secret Vigil protects."
              + " Vigil does not use it so. Run: chmod 600 "
              + file);
    }
  }

  private static void refuseIfSharedAcl(Path file) {
    AclFileAttributeView view = Files.getFileAttributeView(file, AclFileAttributeView.class);
    if (view == null) {
      return;
    }
    String problem;
    try {
      problem = WindowsAcl.problem(view.getAcl(), view.getOwner());
    } catch (IOException e) {
      throw new ProtectionException(
          "The permissions of the machine key file " + file + " cannot be read: " + e, e);
    }
    if (problem != null) {
      throw new ProtectionException(
          "The machine key file "
              + file
              + " is not its owner's alone: "
              + problem
              + ", and with it every secret Vigil protects. Vigil does not use it so. Run: "
              + WindowsAcl.fix(file, System.getProperty("user.name")));
    }
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available in this Java runtime", e);
    }
  }
}
