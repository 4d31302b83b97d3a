package io.vigil.server.config;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.AclEntry;
import java.nio.file.attribute.AclEntryPermission;
import java.nio.file.attribute.AclEntryType;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Files and folders that only the account Vigil runs as may open: POSIX 600 (folders 700), or, on a
 * file system without POSIX permissions (Windows), an ACL that grants the owner alone, marked
 * protected so that the folder's inheritable entries cannot widen it ({@link WindowsAcl}). The
 * permissions are given at creation, so what such a file holds is never readable by another
 * account, not even for a moment.
 */
public final class OwnerOnlyFiles {

  private static final Set<PosixFilePermission> FILE =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
  private static final Set<PosixFilePermission> FOLDER =
      PosixFilePermissions.fromString("rwx------");

  private OwnerOnlyFiles() {}

  /** Whether this machine's default file system has POSIX permissions. */
  public static boolean posix() {
    return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
  }

  /** Creates {@code dir} and its missing parents, owner-only (700) where it can. */
  public static void createDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    if (posix()) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(FOLDER));
    } else {
      Files.createDirectories(dir);
    }
  }

  /** The attribute that makes a new file in {@code dir} owner-only. */
  public static FileAttribute<?> fileAttribute(Path dir) throws IOException {
    return posix() ? PosixFilePermissions.asFileAttribute(FILE) : ownerOnlyAcl(dir);
  }

  /**
   * Writes {@code bytes} to {@code target} (replacing it) through a temporary owner-only file in
   * the same folder, moved into place once written and flushed.
   */
  public static void write(Path target, byte[] bytes) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Path tmp =
        Files.createTempFile(dir, "." + target.getFileName() + "-", ".tmp", fileAttribute(dir));
    try {
      if (posix()) {
        // The umask can only narrow the mode given at creation; make it exactly 600.
        Files.setPosixFilePermissions(tmp, FILE);
      }
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(bytes));
        ch.force(true);
      }
      if (!posix()) {
        WindowsAcl.protect(tmp);
      }
      try {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static FileAttribute<List<AclEntry>> ownerOnlyAcl(Path dir) throws IOException {
    UserPrincipal owner =
        dir.getFileSystem()
            .getUserPrincipalLookupService()
            .lookupPrincipalByName(System.getProperty("user.name"));
    AclEntry entry =
        AclEntry.newBuilder()
            .setType(AclEntryType.ALLOW)
            .setPrincipal(owner)
            .setPermissions(EnumSet.allOf(AclEntryPermission.class))
            .build();
    List<AclEntry> acl = List.of(entry);
    return new FileAttribute<>() {
      @Override
      public String name() {
        return "acl:acl";
      }

      @Override
      public List<AclEntry> value() {
        return acl;
      }
    };
  }
}
